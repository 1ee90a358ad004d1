using FedTune.TestSupport;
using Xunit;

// Compiled into every test assembly (tests/Directory.Build.props links it): xunit needs the collection
// definition in the assembly whose tests use it.
namespace FedTune.TestSupport;

/// <summary>Test classes marked <c>[Collection(AzuriteTestGroup.Name)]</c> share one private Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteTestGroup : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
