using Microsoft.ML.Tokenizers;

namespace Navigator.Api.Pipeline;

/// <summary>
/// Counts tokens with the o200k_base encoding (GPT-4o). Anthropic publishes no offline tokenizer;
/// o200k_base is used as its approximation, and settlement always uses the usage the provider reports.
/// </summary>
public sealed class TokenCounter
{
    private readonly Tokenizer _tokenizer = TiktokenTokenizer.CreateForEncoding("o200k_base");

    public int Count(string text) => _tokenizer.CountTokens(text);

    /// <summary>The longest prefix of <paramref name="text"/> that fits in <paramref name="maxTokens"/> tokens.</summary>
    public string Truncate(string text, int maxTokens)
    {
        if (maxTokens <= 0)
        {
            return "";
        }

        var index = _tokenizer.GetIndexByTokenCount(text, maxTokens, out _, out _);
        return text[..index];
    }
}
