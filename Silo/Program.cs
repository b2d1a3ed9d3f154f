using Navigator.Silo.Hosting;

namespace Navigator.Silo;

public static class SiloProgram
{
    public static void Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.WebHost.UseUrls($"http://127.0.0.1:{builder.Configuration.GetValue("Silo:HttpPort", 5090)}");
        builder.AddNavigatorSilo();

        var app = builder.Build();
        app.MapNavigatorSilo();
        app.Run();
    }
}
