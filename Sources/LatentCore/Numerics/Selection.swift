/// Order statistics without a full sort.
public enum Selection {
    /// The value at index `k` (from 0) of the first `count` elements of `values` sorted ascending
    /// (Hoare's selection with a median-of-three pivot). Those elements are reordered; the rest are
    /// untouched. The values must not be NaN (a NaN compares neither below nor above the pivot).
    /// - Precondition: `0 ≤ k < count ≤ values.count`.
    /// - Complexity: `O(count)` on average, `O(count²)` at worst.
    public static func smallest(_ k: Int, in values: inout [Double], count: Int) -> Double {
        precondition(k >= 0 && k < count && count <= values.count, "Selection out of range")
        return values.withUnsafeMutableBufferPointer { a in
            var low = 0, high = count - 1
            while low < high {
                let middle = low + (high - low) / 2
                // Median of three to the middle, then a Hoare partition around it.
                if a[middle] < a[low] { a.swapAt(middle, low) }
                if a[high] < a[low] { a.swapAt(high, low) }
                if a[high] < a[middle] { a.swapAt(high, middle) }
                let pivot = a[middle]
                var i = low, j = high
                while i <= j {
                    while a[i] < pivot { i += 1 }
                    while a[j] > pivot { j -= 1 }
                    if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
                }
                if k <= j { high = j } else if k >= i { low = i } else { return a[k] }
            }
            return a[k]
        }
    }
}
