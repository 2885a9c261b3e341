using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace RoutingData.Sql;

/// <summary>
/// A string-keyed hash table that is looked up by span without allocating (an alternate lookup is not available on
/// net8.0). Keys compare ordinally; a lookup may fold the span's ASCII A-Z to lower case on the fly, as PostgreSQL
/// folds unquoted names, without copying it. Written once at build, then only read, so concurrent lookups are safe.
/// </summary>
internal sealed class FunctionNameTable
{
    // Per process, so that which names share a bucket cannot be planned from outside.
    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64() | 1;

    // Open addressing, at most half full: a slot holds a key's hash (low half) and its index + 1 (high half), or 0.
    // A lookup mostly reads one slot and compares one key.
    private ulong[] _slots;
    private string[] _keys;
    private FunctionClass[] _values;
    private int _count;

    public FunctionNameTable(int capacity = 16)
    {
        var size = 16;
        while (size < capacity)
        {
            size <<= 1;
        }

        _slots = new ulong[size * 2];
        _keys = new string[size];
        _values = new FunctionClass[size];
    }

    public int Count => _count;

    /// <summary>Adds <paramref name="key"/> or replaces its value.</summary>
    public void Set(string key, FunctionClass value)
    {
        var hash = Hash(key);
        var index = Find(key, hash, fold: false);
        if (index >= 0)
        {
            _values[index] = value;
            return;
        }

        if (_count == _keys.Length)
        {
            Grow();
        }

        _keys[_count] = key;
        _values[_count] = value;
        Place(hash, _count);
        _count++;
    }

    public bool TryGetValue(ReadOnlySpan<char> key, out FunctionClass value) => TryGetValue(key, fold: false, out value);

    /// <summary>Looks up <paramref name="key"/>, with its ASCII A-Z folded to lower case first when <paramref name="fold"/>.</summary>
    public bool TryGetValue(ReadOnlySpan<char> key, bool fold, out FunctionClass value)
    {
        var index = Find(key, Hash(key), fold);
        if (index >= 0)
        {
            value = _values[index];
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>Calls <paramref name="visit"/> for every name whose class is not <see cref="FunctionClass.ReadOnly"/>.</summary>
    public void ForEachNotReadOnly(Action<string> visit)
    {
        for (var i = 0; i < _count; i++)
        {
            if (_values[i] != FunctionClass.ReadOnly)
            {
                visit(_keys[i]);
            }
        }
    }

    /// <summary>Copies every entry into <paramref name="target"/>, replacing its values; names under a writing prefix become writing if asked.</summary>
    public void CopyTo(FunctionNameTable target, bool applyWritingPrefixes)
    {
        for (var i = 0; i < _count; i++)
        {
            var key = _keys[i];
            var value = applyWritingPrefixes && _values[i] == FunctionClass.ReadOnly && BuiltinFunctions.HasWritingPrefix(key) ? FunctionClass.Writing : _values[i];
            target.Set(key, value);
        }
    }

    private int Find(ReadOnlySpan<char> key, int hash, bool fold)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var slot = slots[i];
            if (slot == 0)
            {
                return -1;
            }

            if ((int)slot == hash)
            {
                var index = (int)(slot >> 32) - 1;
                if (Equal(key, _keys[index], fold))
                {
                    return index;
                }
            }
        }
    }

    private void Place(int hash, int index)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var i = hash & mask;
        while (slots[i] != 0)
        {
            i = (i + 1) & mask;
        }

        slots[i] = (uint)hash | ((ulong)(uint)(index + 1) << 32);
    }

    /// <summary>
    /// A hash of <paramref name="key"/> from four characters at a time (most names are short), the same for a key and
    /// any name that folds to it: every character is taken OR 0x20, which maps A-Z to a-z (and merges a few other pairs,
    /// which only makes more names share a hash; <see cref="Equal"/> decides).
    /// </summary>
    private static int Hash(ReadOnlySpan<char> key)
    {
        const ulong Fold = 0x0020_0020_0020_0020;
        var length = key.Length;
        var hash = Seed ^ ((ulong)(uint)length * 0x9E3779B97F4A7C15);
        if (length < 4)
        {
            ulong packed = 0;
            for (var i = 0; i < length; i++)
            {
                packed |= (ulong)key[i] << (16 * i);
            }

            hash = Mix(hash, packed | Fold);
        }
        else
        {
            // Whole chunks, then the last four characters (overlapping the last chunk unless the length is a multiple of four).
            ref var first = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(key));
            for (var i = 0; i <= length - 4; i += 4)
            {
                hash = Mix(hash, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref first, i * 2)) | Fold);
            }

            if ((length & 3) != 0)
            {
                hash = Mix(hash, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref first, (length - 4) * 2)) | Fold);
            }
        }

        // The top bits of a product depend on all the bits below: take those.
        return (int)(((hash ^ (hash >> 32)) * 0x9E3779B97F4A7C15) >> 32);
    }

    /// <summary>One step: the rotation brings the high bits of the product down for the next multiply.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong hash, ulong chunk) => BitOperations.RotateLeft((hash ^ chunk) * 0xC2B2AE3D27D4EB4F, 29);

    /// <summary>Four UTF-16 characters with A-Z folded to a-z when <paramref name="fold"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Fold(ulong chars, bool fold)
    {
        if (!fold)
        {
            return chars;
        }

        var lanes = Vector128.CreateScalarUnsafe(chars).AsUInt16();
        var upper = Vector128.LessThan(lanes - Vector128.Create((ushort)'A'), Vector128.Create((ushort)26));
        return (lanes | (upper & Vector128.Create((ushort)0x20))).AsUInt64().ToScalar();
    }

    /// <summary>Whether <paramref name="key"/>, folded if asked, equals <paramref name="stored"/> ordinally.</summary>
    private static bool Equal(ReadOnlySpan<char> key, string stored, bool fold)
    {
        if (key.Length != stored.Length)
        {
            return false;
        }

        if (!fold)
        {
            return key.SequenceEqual(stored);
        }

        var length = key.Length;
        if (length < 4)
        {
            for (var i = 0; i < length; i++)
            {
                var c = key[i];
                if ((c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c) != stored[i])
                {
                    return false;
                }
            }

            return true;
        }

        // Four characters at a time, the last four overlapping.
        ref var keyBytes = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(key));
        ref var storedBytes = ref Unsafe.As<char, byte>(ref MemoryMarshal.GetReference(stored.AsSpan()));
        for (var i = 0; i < length - 4; i += 4)
        {
            if (Fold(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref keyBytes, i * 2)), fold: true) != Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref storedBytes, i * 2)))
            {
                return false;
            }
        }

        return Fold(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref keyBytes, (length - 4) * 2)), fold: true)
            == Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref storedBytes, (length - 4) * 2));
    }

    private void Grow()
    {
        var size = _keys.Length * 2;
        Array.Resize(ref _keys, size);
        Array.Resize(ref _values, size);
        _slots = new ulong[size * 2];
        for (var i = 0; i < _count; i++)
        {
            Place(Hash(_keys[i]), i);
        }
    }
}
