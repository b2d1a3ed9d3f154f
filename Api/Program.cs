using Navigator.Api.Apis;
using Navigator.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
// Loopback by default; a container sets NAVIGATOR_BIND_ADDRESS=0.0.0.0.
builder.WebHost.UseUrls($"http://{builder.Configuration["NAVIGATOR_BIND_ADDRESS"] ?? "127.0.0.1"}:{builder.Configuration["NAVIGATOR_API_PORT"] ?? "5080"}");
builder.AddNavigatorApi();

var app = builder.Build();
app.UseNavigatorApi();
app.MapCareerPathsApi();
app.MapBudgetAdminApi();
app.MapProvidersAdminApi();
app.MapStatsAdminApi();
app.MapFeaturesAdminApi();
app.MapExperimentsAdminApi();
app.MapEvaluationApi();
app.Run();

/// <summary>The API's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
