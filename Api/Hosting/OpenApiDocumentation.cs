using Microsoft.OpenApi;

namespace Navigator.Api.Hosting;

/// <summary>
/// Completes the OpenAPI document the API serves (/openapi/v1.json), so it passes Spectral's recommended rules
/// and ours (tools/validate/spectral.yaml): what the API is, the Bearer scheme of the client and admin keys,
/// and on every /v1 and /admin operation its security requirement, an operation id and a description that
/// says which key it needs.
/// </summary>
public static class OpenApiDocumentation
{
    public const string BearerScheme = "Bearer";

    public static IServiceCollection AddNavigatorOpenApi(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "Career Path Navigator gateway";
            document.Info.Description = "Career-path recommendations through OpenAI or Anthropic, with versioned prompts, A/B experiments, " +
                "a hard monthly cost cap and cluster-wide circuit breakers. Errors are RFC 9457 problem details.";
            document.Info.Contact = new OpenApiContact { Name = "The Career Path Navigator gateway team" };
            foreach (var server in document.Servers ?? [])
            {
                server.Url = server.Url?.TrimEnd('/'); // the address the document was read from, as a base URL
            }

            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes = new Dictionary<string, IOpenApiSecurityScheme>
            {
                [BearerScheme] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "A client key (for /v1) or an admin key (for /admin; read scope for GET, write scope for changes).",
                },
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var path = "/" + (context.Description.RelativePath ?? "");
            var method = context.Description.HttpMethod ?? "GET";
            operation.OperationId ??= OperationId(method, path);
            var key = path.StartsWith("/v1/", StringComparison.Ordinal) ? "a client key"
                : !path.StartsWith("/admin", StringComparison.Ordinal) ? null
                : HttpMethods.IsGet(method) ? "an admin key (read scope)"
                : "an admin key with the write scope";
            if (key is not null)
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
            }

            operation.Description ??= $"{operation.Summary?.TrimEnd('.')}.{(key is null ? "" : $" Needs {key} in 'Authorization: Bearer <key>'.")}";
            return Task.CompletedTask;
        });
    });

    /// <summary>"POST /admin/features/{feature}/rollback" becomes "postAdminFeaturesFeatureRollback" (route constraints dropped).</summary>
    private static string OperationId(string method, string path) =>
        method.ToLowerInvariant() + string.Concat(path.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(segment => segment.StartsWith('{') ? segment.Trim('{', '}').Split(':')[0] : segment)
            .SelectMany(segment => segment.Split('-', '_'))
            .Where(word => word.Length > 0)
            .Select(word => char.ToUpperInvariant(word[0]) + word[1..]));
}
