# Build from the repository root: docker build -f deploy/docker/api.Dockerfile -t navigator-api .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish Api/Api.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV NAVIGATOR_BIND_ADDRESS=0.0.0.0 \
    NAVIGATOR_API_PORT=8080 \
    NAVIGATOR_DATA_DIR=/data
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "Navigator.Api.dll"]
