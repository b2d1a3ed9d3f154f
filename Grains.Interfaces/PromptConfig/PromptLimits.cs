namespace Navigator.Grains.PromptConfig;

/// <summary>
/// What rendering one prompt may take. Publishing trial-renders every template with the largest inputs a
/// request may carry and refuses one that breaks a limit; the API renders under the same limits, so an
/// admin-published template cannot loop or grow without bound on the replicas.
/// </summary>
public static class PromptLimits
{
    /// <summary>Liquid statements per render (Fluid's MaxSteps).</summary>
    public const int MaxSteps = 10_000;

    /// <summary>Nested blocks and includes per render (Fluid's MaxRecursion).</summary>
    public const int MaxRecursion = 32;

    /// <summary>Characters in a rendered prompt: a little more than the largest inputs a request may send.</summary>
    public const int MaxOutputLength = 100_000;

    /// <summary>The longest <c>userProfile</c> or <c>jobMarketData</c> a request may send: the trial render uses inputs this long.</summary>
    public const int MaxInputLength = 20_000;
}
