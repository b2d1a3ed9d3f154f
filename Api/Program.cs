using Navigator.Api.Apis;
using Navigator.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseUrls($"http://127.0.0.1:{builder.Configuration["NAVIGATOR_API_PORT"] ?? "5080"}");
builder.AddNavigatorApi();

var app = builder.Build();
app.UseNavigatorApi();
app.MapCareerPathsApi();
app.MapAdminApi();
app.MapFeaturesAdminApi();
app.Run();

/// <summary>The API's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
