using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Navigator.Api.Options;

namespace Navigator.UnitTests;

/// <summary>Which key configurations the API refuses to start with, and the setting each message names.</summary>
public sealed class AuthOptionsTests
{
    private static readonly string Strong = new('c', 40);
    private static readonly string StrongAdmin = new('a', 40);

    [Fact]
    public void Strong_distinct_keys_start_in_production()
    {
        var options = new AuthOptions { ClientKey = Strong, AdminKey = StrongAdmin };
        options.ClientKeys["rails-next"] = new string('n', 32);
        options.AdminKeys["ops"] = new AdminKeyOptions { Key = new string('o', 32), Scope = AdminScope.Read };

        Assert.True(Validate(options, Environments.Production).Succeeded);
    }

    [Fact]
    public void Missing_keys_are_refused_outside_development_and_named()
    {
        var result = Validate(new AuthOptions(), Environments.Production);

        Assert.True(result.Failed);
        Assert.Contains("NAVIGATOR_CLIENT_KEY", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("NAVIGATOR_ADMIN_KEY", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(AuthOptions.DevelopmentClientKey, "NAVIGATOR_CLIENT_KEY (Auth:ClientKey) is the development default")]
    [InlineData("short-but-not-default", "NAVIGATOR_CLIENT_KEY (Auth:ClientKey) is shorter than 32 characters")]
    public void A_default_or_short_key_is_refused_outside_development(string clientKey, string message)
    {
        var result = Validate(new AuthOptions { ClientKey = clientKey, AdminKey = StrongAdmin }, Environments.Staging);

        Assert.StartsWith(message, Assert.Single(result.Failures!), StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_one_character_short_is_refused_and_one_at_the_minimum_is_not()
    {
        var atMinimum = new string('k', AuthOptions.MinimumKeyLength);
        Assert.True(Validate(new AuthOptions { ClientKey = atMinimum, AdminKey = StrongAdmin }, Environments.Production).Succeeded);
        Assert.True(Validate(new AuthOptions { ClientKey = atMinimum[1..], AdminKey = StrongAdmin }, Environments.Production).Failed);
    }

    [Fact]
    public void A_client_key_equal_to_an_admin_key_is_refused_in_every_environment()
    {
        foreach (var environment in new[] { Environments.Development, Environments.Production })
        {
            var options = new AuthOptions { ClientKey = Strong, AdminKey = StrongAdmin };
            options.AdminKeys["alice"] = new AdminKeyOptions { Key = Strong };

            var result = Validate(options, environment);

            Assert.Equal(
                "A client key equals an admin key: NAVIGATOR_CLIENT_KEY (Auth:ClientKey) and Auth:AdminKeys:alice:Key. Every client could call the admin API.",
                Assert.Single(result.Failures!));
        }
    }

    [Fact]
    public void Two_named_client_keys_with_the_same_value_are_refused()
    {
        var options = new AuthOptions { AdminKey = StrongAdmin };
        options.ClientKeys["a"] = Strong;
        options.ClientKeys["b"] = Strong;

        Assert.Equal("The same key is set twice: Auth:ClientKeys:a and Auth:ClientKeys:b.", Assert.Single(Validate(options, Environments.Production).Failures!));
    }

    [Fact]
    public void An_empty_named_key_is_refused_even_in_development()
    {
        var options = new AuthOptions { ClientKey = "dev", AdminKey = "dev-admin" };
        options.AdminKeys["bob"] = new AdminKeyOptions { Key = "" };

        Assert.Equal("Auth:AdminKeys:bob:Key is empty.", Assert.Single(Validate(options, Environments.Development).Failures!));
    }

    [Fact]
    public void Development_accepts_the_well_known_keys()
    {
        var options = new AuthOptions { ClientKey = AuthOptions.DevelopmentClientKey, AdminKey = AuthOptions.DevelopmentAdminKey };

        Assert.True(Validate(options, Environments.Development).Succeeded);
        Assert.True(Validate(options, Environments.Production).Failed);
    }

    [Fact]
    public void Every_key_is_listed_by_name_with_its_role_and_scope()
    {
        var options = new AuthOptions { ClientKey = "c1", AdminKey = "a1" };
        options.ClientKeys["rails"] = "c2";
        options.AdminKeys["reader"] = new AdminKeyOptions { Key = "a2", Scope = AdminScope.Read };

        Assert.Equal(
            [("client", false, AdminScope.Read), ("rails", false, AdminScope.Read), ("admin", true, AdminScope.Write), ("reader", true, AdminScope.Read)],
            options.All().Select(k => (k.Name, k.IsAdmin, k.Scope)));
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(AuthOptions options, string environment) =>
        new AuthOptionsValidator(new HostingEnvironment { EnvironmentName = environment }).Validate(null, options);
}
