using Navigator.Silo.Hosting;

namespace Navigator.Silo;

public static class SiloProgram
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        // Loopback by default; a container sets NAVIGATOR_BIND_ADDRESS=0.0.0.0.
        var bind = builder.Configuration["NAVIGATOR_BIND_ADDRESS"] ?? "127.0.0.1";
        builder.WebHost.UseUrls($"http://{bind}:{builder.Configuration.GetValue("Silo:HttpPort", 5090)}");
        builder.AddNavigatorSilo();

        var app = builder.Build();
        app.MapNavigatorSilo();
        app.Run();
    }
}
