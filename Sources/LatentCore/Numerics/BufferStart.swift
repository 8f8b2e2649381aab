/// The package's one place that turns a buffer's optional base address into a pointer.
///
/// Kernels take `UnsafePointer`s plus counts. A Swift buffer's `baseAddress` is `nil` only when the
/// buffer is empty; `start` returns the base address, or for an empty buffer a suitably aligned
/// non-null address that must never be dereferenced. Every kernel given a count of zero reads and
/// writes nothing, so empty inputs flow through instead of trapping on a force-unwrap.
extension UnsafeBufferPointer {
    /// The address of the first element (never dereference it when the buffer is empty).
    @inlinable @inline(__always)
    public var start: UnsafePointer<Element> {
        baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Element>.alignment)!
    }
}

extension UnsafeMutableBufferPointer {
    /// The address of the first element (never dereference it when the buffer is empty).
    @inlinable @inline(__always)
    public var start: UnsafeMutablePointer<Element> {
        baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
    }
}

extension UnsafeRawBufferPointer {
    /// The address of the first byte (never dereference it when the buffer is empty).
    @inlinable @inline(__always)
    public var start: UnsafeRawPointer {
        baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    }
}
