# Build from the repository root:
#   docker build -f deploy/docker/silo.Dockerfile -t registry.example.com/navigator/navigator-silo:1.0.0 .
#
# Base images are pinned by exact version: the SDK global.json asks for and the newest .NET 10 runtime
# patch at the time of writing. To move to a newer patch, change both tags (sdk:10.0.4xx, aspnet:10.0.x);
# to pin by digest as well, append the one `docker buildx imagetools inspect <image>:<tag>` prints,
# e.g. mcr.microsoft.com/dotnet/aspnet:10.0.15@sha256:<digest>.
FROM mcr.microsoft.com/dotnet/sdk:10.0.401 AS build
WORKDIR /src
# Restore first, from the project files alone, so that a source change reuses the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Silo/Silo.csproj Silo/
COPY Grains/Grains.csproj Grains/
COPY Grains.Interfaces/Grains.Interfaces.csproj Grains.Interfaces/
RUN dotnet restore Silo/Silo.csproj
COPY . .
RUN dotnet publish Silo/Silo.csproj -c Release -o /app --no-restore --nologo -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0.15
WORKDIR /app
# Includes seed/config and seed/prompts, which seed the grains on first activation.
COPY --from=build /app .
ENV NAVIGATOR_BIND_ADDRESS=0.0.0.0 \
    Silo__HttpPort=5090 \
    ASPNETCORE_HTTP_PORTS=
# 11111 silo to silo, 30000 client gateway, 5090 /metrics and /health/live (and the dashboard, if enabled).
# The silo writes no files of its own; Kubernetes gives it a writable /tmp.
EXPOSE 11111 30000 5090
# 1654 is "app", the non-root user of the .NET images ($APP_UID).
USER 1654:1654
ENTRYPOINT ["dotnet", "Navigator.Silo.dll"]
