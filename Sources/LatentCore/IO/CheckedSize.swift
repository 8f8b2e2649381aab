/// Sizes read from file headers, checked before anything is allocated: a header can claim any
/// shape, and `rows × columns × width` computed naively overflows or asks for terabytes.
enum CheckedSize {
    /// The number of elements of `shape` when every dimension is non-negative, the product does
    /// not overflow, and `count × width` bytes fit in `available`; nil otherwise.
    static func elements(_ shape: [Int], width: Int, available: Int) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
        guard !overflow, bytes <= available else { return nil }
        return count
    }
}
