using Microsoft.Extensions.AI;

namespace Navigator.Api.Pipeline;

/// <summary>
/// What the gateway's layers learn about one attempt travels back on the <see cref="ChatResponse"/>
/// they return (its <see cref="ChatResponse.AdditionalProperties"/>), or on the
/// <see cref="ProviderCallException"/> they rethrow: the model billed, the cost charged, whether the
/// soft limit downgraded it, and the parsed recommendations.
/// </summary>
public static class GatewayResponse
{
    private const string RecommendationsKey = "navigator.recommendations";
    private const string ChargeKey = "navigator.charge";
    private const string DowngradedKey = "navigator.downgraded";

    /// <summary>The model the attempt was billed for and what it cost.</summary>
    public sealed record Charge(string Model, decimal CostUsd);

    public static void SetRecommendations(this ChatResponse response, IReadOnlyList<Recommendation> recommendations) =>
        (response.AdditionalProperties ??= [])[RecommendationsKey] = recommendations;

    public static IReadOnlyList<Recommendation> GetRecommendations(this ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(RecommendationsKey, out var value) == true && value is IReadOnlyList<Recommendation> list
            ? list
            : throw new InvalidOperationException("The response was not validated by the gateway pipeline.");

    public static void SetCharge(this ChatResponse response, string model, decimal costUsd) =>
        (response.AdditionalProperties ??= [])[ChargeKey] = new Charge(model, costUsd);

    public static Charge? GetCharge(this ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(ChargeKey, out var value) == true ? value as Charge : null;

    public static void SetDowngraded(this ChatResponse response) => (response.AdditionalProperties ??= [])[DowngradedKey] = true;

    public static bool GetDowngraded(this ChatResponse response) =>
        response.AdditionalProperties?.TryGetValue(DowngradedKey, out var value) == true && value is true;
}
