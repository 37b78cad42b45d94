using Xunit.Abstractions;
using Xunit.Sdk;

namespace FitService.Api.Tests.Infrastructure;

/// <summary>
/// A fact that the concrete test class can have skipped with a <see cref="SkipConditionAttribute"/>. Shared suites
/// (a store contract) use it so that one provider's subclass is skipped where its database is missing while the
/// others still run: xunit 2 has no skipping at run time, and an attribute on an inherited method cannot know the
/// class it runs in.
/// </summary>
[XunitTestCaseDiscoverer("FitService.Api.Tests.Infrastructure.ConditionalFactDiscoverer", "FitService.Api.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ConditionalFactAttribute : FactAttribute;

/// <summary>On a test class: why its <see cref="ConditionalFactAttribute"/> tests cannot run here, or null.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public abstract class SkipConditionAttribute : Attribute
{
    public abstract string? SkipReason { get; }
}

public sealed class ConditionalFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new ConditionalTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}

public sealed class ConditionalTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ConditionalTestCase() { }

    public ConditionalTestCase(IMessageSink sink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod)
        : base(sink, display, options, testMethod) { }

    // Evaluated from the class on every load (also after de-serialization), so there is no extra state to serialize.
    protected override string? GetSkipReason(IAttributeInfo factAttribute) =>
        base.GetSkipReason(factAttribute)
        ?? TestMethod.TestClass.Class.ToRuntimeType()?.GetCustomAttributes(typeof(SkipConditionAttribute), inherit: true)
            .Cast<SkipConditionAttribute>().Select(c => c.SkipReason).FirstOrDefault(r => r is not null);
}
