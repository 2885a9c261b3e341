using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace RoutingData.DependencyInjection;

/// <summary>
/// Binds a configuration section to <see cref="ReplicatedDbOptions"/> one setting at a time, so that every value that
/// does not convert is reported — with the validator's other problems, in one <c>OptionsValidationException</c> —
/// instead of the first one ending the binding with an <see cref="InvalidOperationException"/>.
/// </summary>
internal static class ReplicatedDbOptionsBinder
{
    public static void Bind(IConfiguration configuration, ReplicatedDbOptions options)
    {
        foreach (var child in configuration.GetChildren())
        {
            var property = typeof(ReplicatedDbOptions).GetProperty(child.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null)
            {
                continue; // As the configuration binder does: keys it does not know are left alone.
            }

            try
            {
                if (property.CanWrite)
                {
                    property.SetValue(options, child.Get(property.PropertyType));
                }
                else
                {
                    // ReplicaWeights, ReadOnlyFunctions, WritingFunctions: bound into the existing collection.
                    child.Bind(property.GetValue(options));
                }
            }
            catch (InvalidOperationException)
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                var expected = type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}" : $"a {type.Name}";
                var shown = child.Value is { } value ? $"'{value}'" : "(a section)";
                options.BindingProblems.Add(string.Create(CultureInfo.InvariantCulture, $"{child.Path} is {shown}, which is not {expected}."));
            }
        }
    }
}
