using System.ClientModel;
using System.Net;
using Navigator.Api.Apis;
using Navigator.Api.Auth;
using Navigator.Api.Pipeline;
using Navigator.Grains.Budget;
using Navigator.Grains.Providers;

namespace Navigator.UnitTests;

public sealed class ApiLogicTests
{
    [Fact]
    public void Key_comparison_matches_only_the_exact_key()
    {
        Assert.True(ApiKeyAuthenticationHandler.KeyEquals("dev-client-key", "dev-client-key"));
        Assert.False(ApiKeyAuthenticationHandler.KeyEquals("dev-client-ke", "dev-client-key"));
        Assert.False(ApiKeyAuthenticationHandler.KeyEquals("dev-client-keyX", "dev-client-key"));
        Assert.False(ApiKeyAuthenticationHandler.KeyEquals("", "dev-client-key"));
    }

    [Fact]
    public void Validation_names_each_missing_or_bad_field()
    {
        var errors = CareerPathsApi.Validate(new CareerPathRequest(null, " ", "market", "gemini"));
        Assert.Equal(["provider", "userId", "userProfile"], errors.Keys.Order());
        Assert.Empty(CareerPathsApi.Validate(new CareerPathRequest("u1", "profile", "market", "anthropic")));
        Assert.Contains("userProfile", CareerPathsApi.Validate(new CareerPathRequest("u1", new string('x', CareerPathsApi.MaxTextLength + 1), "m", null)).Keys);
    }

    [Theory]
    [InlineData(500, ProviderCallKind.ServerError)]
    [InlineData(503, ProviderCallKind.ServerError)]
    [InlineData(429, ProviderCallKind.RateLimited)]
    [InlineData(401, ProviderCallKind.AuthFailure)]
    [InlineData(403, ProviderCallKind.AuthFailure)]
    [InlineData(400, ProviderCallKind.ClientError)]
    [InlineData(404, ProviderCallKind.ClientError)]
    [InlineData(504, ProviderCallKind.Timeout)]
    public void Provider_status_codes_map_to_breaker_outcomes(int status, ProviderCallKind expected)
    {
        Assert.Equal(expected, ProviderErrorClassifier.FromStatus(status));
        Assert.Equal(expected, ProviderErrorClassifier.Classify(new HttpRequestException("x", null, (HttpStatusCode)status)));
    }

    [Fact]
    public void Timeouts_and_malformed_bodies_are_failures()
    {
        Assert.Equal(ProviderCallKind.Timeout, ProviderErrorClassifier.Classify(new TaskCanceledException()));
        Assert.Equal(ProviderCallKind.MalformedResponse, ProviderErrorClassifier.Classify(new MalformedResponseException("bad", null)));
        Assert.Equal(ProviderCallKind.ServerError, ProviderErrorClassifier.Classify(new ClientResultException("no response")));
        Assert.Equal(ProviderCallKind.Unknown, ProviderErrorClassifier.Classify(new NullReferenceException()));
    }

    [Fact]
    public void Budget_view_forecasts_from_the_pace_so_far()
    {
        var status = new BudgetStatus("2026-11", 5000m, 900m, 10m, [], 30m, 500m, 910m, 0m);
        // Half of November has passed: the forecast doubles the spend.
        var view = BudgetAdminApi.ToView(status, new DateTimeOffset(2026, 11, 16, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(1800m, view.ForecastUsd);
        Assert.Equal(4090m, view.RemainingUsd);
        Assert.Equal(900m, BudgetAdminApi.ToView(status, new DateTimeOffset(2026, 12, 5, 0, 0, 0, TimeSpan.Zero)).ForecastUsd);
    }
}
