# Build from the repository root: docker build -f deploy/docker/silo.Dockerfile -t navigator-silo .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish Silo/Silo.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV NAVIGATOR_BIND_ADDRESS=0.0.0.0 \
    Silo__HttpPort=5090
# 11111 silo-to-silo, 30000 client gateway, 5090 dashboard, /metrics and /health/live
EXPOSE 11111 30000 5090
USER app
ENTRYPOINT ["dotnet", "Navigator.Silo.dll"]
