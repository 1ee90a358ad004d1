using FedTune.Core.Data;
using Xunit;

namespace FedTune.Core.Tests.Data;

public sealed class MedicalTopicExtractorTests
{
    [Theory]
    [InlineData("What are the symptoms of Allergy?", "allergy")]
    [InlineData("What causes Allergy?", "allergy")]
    [InlineData("When to seek urgent medical care when I have Angina ?", "angina")]
    [InlineData("What to expect if I have Anorexia nervosa  (Outlook/Prognosis)?", "anorexia nervosa")]
    [InlineData("Who is at highest risk for Granulomatosis with polyangiitis ?", "granulomatosis with polyangiitis")]
    [InlineData("What are the causes of Diverticulosis?", "diverticulosis")]
    [InlineData("Where to find Medical Care for Takayasu's arteritis?", "takayasu's arteritis")]
    [InlineData("Who is at risk for hiatus hernia?", "hiatus hernia")]
    [InlineData("How a coronary risk profile performed?", "how a coronary risk profile performed")]
    public void TopicOf_names_the_condition_in_the_question(string question, string topic)
    {
        Assert.Equal(topic, MedicalTopicExtractor.TopicOf(question));
    }

    [Fact]
    public void TopicOf_uses_the_instruction_when_the_input_is_empty()
    {
        Assert.Equal("measles", MedicalTopicExtractor.TopicOf(new AlpacaRecord("What causes Measles?", "", "A virus.")));
    }
}
