/// Uninitialised working memory for a kernel, freed when the last reference goes.
///
/// Kernels that need scratch space of a size known only at run time hold one of these instead of
/// allocating and freeing raw memory by hand, so an early return or a thrown error cannot leak it.
/// The elements are trivial values (`BitwiseCopyable`), so no deinitialisation is needed.
public final class ScratchBuffer<Element: BitwiseCopyable> {
    /// The first element; `count` elements are allocated (at least one, so it is never null).
    public let pointer: UnsafeMutablePointer<Element>
    /// The number of elements.
    public let count: Int

    /// Allocates `count` elements, uninitialised unless `value` is given.
    public init(count: Int, repeating value: Element? = nil) {
        precondition(count >= 0, "A scratch buffer cannot have a negative size")
        self.count = count
        pointer = .allocate(capacity: max(1, count))
        if let value { pointer.initialize(repeating: value, count: count) }
    }

    deinit { pointer.deallocate() }
}
