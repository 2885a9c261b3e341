namespace RoutingData.Routing;

/// <summary>
/// A string-keyed hash table that is looked up by span without allocating (an alternate lookup is not available on
/// net8.0). Keys compare ordinally: callers fold unquoted names first. Written once at build, then only read, so
/// concurrent lookups are safe.
/// </summary>
internal sealed class FunctionNameTable
{
    private int[] _buckets;
    private Entry[] _entries;
    private int _count;

    public FunctionNameTable(int capacity = 16)
    {
        var size = 16;
        while (size < capacity)
        {
            size <<= 1;
        }

        _buckets = new int[size];
        _entries = new Entry[size];
    }

    public int Count => _count;

    /// <summary>Adds <paramref name="key"/> or replaces its value.</summary>
    public void Set(string key, FunctionClass value)
    {
        var hash = string.GetHashCode(key.AsSpan());
        var index = Find(key, hash);
        if (index >= 0)
        {
            _entries[index].Value = value;
            return;
        }

        if (_count == _entries.Length)
        {
            Grow();
        }

        ref var bucket = ref _buckets[hash & (_buckets.Length - 1)];
        _entries[_count] = new Entry { Key = key, Hash = hash, Next = bucket - 1, Value = value };
        bucket = ++_count;
    }

    public bool TryGetValue(ReadOnlySpan<char> key, out FunctionClass value)
    {
        var index = Find(key, string.GetHashCode(key));
        if (index >= 0)
        {
            value = _entries[index].Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Copies every entry into <paramref name="target"/>, replacing its values; names under a writing prefix become writing if asked.</summary>
    public void CopyTo(FunctionNameTable target, bool applyWritingPrefixes)
    {
        for (var i = 0; i < _count; i++)
        {
            var entry = _entries[i];
            var value = applyWritingPrefixes && BuiltinFunctions.HasWritingPrefix(entry.Key) ? FunctionClass.Writing : entry.Value;
            target.Set(entry.Key, value);
        }
    }

    private int Find(ReadOnlySpan<char> key, int hash)
    {
        var entries = _entries;
        for (var i = _buckets[hash & (_buckets.Length - 1)] - 1; i >= 0; i = entries[i].Next)
        {
            if (entries[i].Hash == hash && key.SequenceEqual(entries[i].Key))
            {
                return i;
            }
        }

        return -1;
    }

    private void Grow()
    {
        var size = _entries.Length * 2;
        Array.Resize(ref _entries, size);
        _buckets = new int[size];
        for (var i = 0; i < _count; i++)
        {
            ref var bucket = ref _buckets[_entries[i].Hash & (size - 1)];
            _entries[i].Next = bucket - 1;
            bucket = i + 1;
        }
    }

    private struct Entry
    {
        public string Key;
        public int Hash;
        public int Next;
        public FunctionClass Value;
    }
}
