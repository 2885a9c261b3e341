using System.Linq.Expressions;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Query;

namespace RoutingData.EntityFrameworkCore.Internal;

/// <summary>
/// When a query is compiled (once per query shape; compiled queries too), finds the entity types it touches — its roots,
/// navigations it follows or includes (by lambda or by name), auto-included navigations and derived types — and, if any
/// carries a read-preference attribute and the query has no <c>routing:</c> tag of its own, tags the query with the
/// strongest of them. The tag reaches the router as a SQL hint.
/// </summary>
internal sealed class EntityReadPreferenceInterceptor : IQueryExpressionInterceptor
{
    public static readonly EntityReadPreferenceInterceptor Instance = new();

    private static readonly MethodInfo TagWithMethod = typeof(EntityFrameworkQueryableExtensions).GetMethod(
        nameof(EntityFrameworkQueryableExtensions.TagWith), [typeof(IQueryable<>).MakeGenericType(Type.MakeGenericMethodParameter(0)), typeof(string)])!;

    private EntityReadPreferenceInterceptor()
    {
    }

    public Expression QueryCompilationStarting(Expression queryExpression, QueryExpressionEventData eventData)
    {
        if (eventData.Context?.Model is not { } model)
        {
            return queryExpression;
        }

        var finder = new Finder(model);
        finder.Visit(queryExpression);
        if (finder.HasRoutingTag || finder.Preference is not { } preference)
        {
            return queryExpression;
        }

        return new RootTagger(RoutingTags.For(preference)).Visit(queryExpression) ?? queryExpression;
    }

    private static Type? ElementType(Type type)
    {
        if (type == typeof(string) || type.IsPrimitive)
        {
            return null;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>))
        {
            return type.GetGenericArguments()[0];
        }

        return type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
    }

    private sealed class Finder(IModel model) : ExpressionVisitor
    {
        private readonly HashSet<IEntityType> _seen = [];

        public bool HasRoutingTag { get; private set; }

        public ReadPreference? Preference { get; private set; }

        public override Expression? Visit(Expression? node)
        {
            if (node is not null)
            {
                Touch(node.Type);
                if (node is not ConstantExpression && ElementType(node.Type) is { } element)
                {
                    Touch(element);
                }
            }

            return base.Visit(node);
        }

        protected override Expression VisitMethodCall(MethodCallExpression node)
        {
            if (node.Method.DeclaringType == typeof(EntityFrameworkQueryableExtensions) && node.Arguments.Count == 2
                && node.Arguments[1] is ConstantExpression { Value: string text })
            {
                if (node.Method.Name == nameof(EntityFrameworkQueryableExtensions.TagWith) && text.StartsWith(RoutingTags.Prefix, StringComparison.OrdinalIgnoreCase))
                {
                    HasRoutingTag = true;
                }
                else if (node.Method.Name == nameof(EntityFrameworkQueryableExtensions.Include)
                    && ElementType(node.Arguments[0].Type) is { } source && model.FindEntityType(source) is { } root)
                {
                    // Include("Orders.Lines"): follow the names from the source's entity type.
                    IEntityType? current = root;
                    foreach (var name in text.Split('.'))
                    {
                        current = current?.FindNavigation(name)?.TargetEntityType ?? current?.FindSkipNavigation(name)?.TargetEntityType;
                        if (current is not null)
                        {
                            Touch(current);
                        }
                    }
                }
            }

            return base.VisitMethodCall(node);
        }

        private void Touch(Type type)
        {
            if (model.FindEntityType(type) is { } entityType)
            {
                Touch(entityType);
            }
        }

        private void Touch(IEntityType entityType)
        {
            if (!_seen.Add(entityType))
            {
                return;
            }

            foreach (var type in entityType.GetDerivedTypesInclusive())
            {
                Preference = ReadPreferenceAttributes.Stronger(Preference, ReadPreferenceAttributes.Of(type.ClrType));
                Touch(type);
            }

            foreach (var navigation in entityType.GetNavigations().Where(n => n.IsEagerLoaded))
            {
                Touch(navigation.TargetEntityType);
            }

            foreach (var navigation in entityType.GetSkipNavigations().Where(n => n.IsEagerLoaded))
            {
                Touch(navigation.TargetEntityType);
            }
        }
    }

    /// <summary>Puts the tag on the query's first root: EF Core collects tags wherever they stand.</summary>
    private sealed class RootTagger(string tag) : ExpressionVisitor
    {
        private bool _done;

        public override Expression? Visit(Expression? node)
        {
            if (!_done && node is EntityQueryRootExpression root)
            {
                _done = true;
                return Expression.Call(TagWithMethod.MakeGenericMethod(root.ElementType), root, Expression.Constant(tag));
            }

            return base.Visit(node);
        }
    }
}
