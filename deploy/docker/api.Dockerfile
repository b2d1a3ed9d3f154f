# Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t registry.example.com/navigator/navigator-api:1.0.0 .
#
# Base images are pinned by exact version: the SDK global.json asks for and the newest .NET 10 runtime
# patch at the time of writing. To move to a newer patch, change both tags (sdk:10.0.4xx, aspnet:10.0.x);
# to pin by digest as well, append the one `docker buildx imagetools inspect <image>:<tag>` prints,
# e.g. mcr.microsoft.com/dotnet/aspnet:10.0.15@sha256:<digest>.
FROM mcr.microsoft.com/dotnet/sdk:10.0.401 AS build
WORKDIR /src
# Restore first, from the project files alone, so that a source change reuses the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY Api/Api.csproj Api/
COPY Grains.Interfaces/Grains.Interfaces.csproj Grains.Interfaces/
RUN dotnet restore Api/Api.csproj
COPY . .
RUN dotnet publish Api/Api.csproj -c Release -o /app --no-restore --nologo -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0.15
WORKDIR /app
COPY --from=build /app .
# The data dir holds telemetry/requests-yyyy-MM-dd.jsonl; Kubernetes mounts an emptyDir over it, and
# the root filesystem is read-only there.
RUN mkdir -p /data/telemetry && chown -R 1654:1654 /data
ENV NAVIGATOR_BIND_ADDRESS=0.0.0.0 \
    NAVIGATOR_API_PORT=8080 \
    NAVIGATOR_DATA_DIR=/data \
    ASPNETCORE_HTTP_PORTS=
EXPOSE 8080
# 1654 is "app", the non-root user of the .NET images ($APP_UID).
USER 1654:1654
ENTRYPOINT ["dotnet", "Navigator.Api.dll"]
