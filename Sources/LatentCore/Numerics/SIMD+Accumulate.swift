/// Multiply-adds for Swift SIMD code that must be fast in any build.
///
/// `addProduct` and `addingProduct` promise a fused (singly rounded) result. A build for a CPU with
/// FMA instructions (`-target-cpu haswell`) makes that one instruction, but the baseline x86-64 build
/// that a package dependency gets turns it into a call to libm's `fma` per lane — 4–10× slower in
/// the loops below. These unfused forms are a multiply and an add everywhere; in accumulation loops,
/// where only the add lies on the dependency chain, they cost a build with FMA almost nothing. Hot
/// loops that gain from fusion live in the C kernels (``InstructionSet``).
extension SIMD where Scalar: FloatingPoint {
    /// `self += a · b`, rounded twice.
    @_transparent
    public mutating func accumulate(_ a: Self, _ b: Self) { self = self + a * b }

    /// `self + a · b`, rounded twice.
    @_transparent
    public func adding(_ a: Self, times b: Self) -> Self { self + a * b }
}
