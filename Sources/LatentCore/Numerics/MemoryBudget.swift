import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The memory a command may ask for before it starts: work whose size is known up front (a fit's
/// covariances and responsibilities, Monte Carlo samples, imputed copies) is refused with the size
/// it would need instead of exhausting the machine midway.
public struct MemoryBudget: Sendable, Equatable {
    /// Bytes allowed.
    public let bytes: Int

    /// A budget of `bytes`.
    public init(bytes: Int) { self.bytes = max(0, bytes) }

    /// Half the physical memory (8 GiB where it cannot be read).
    public static var `default`: MemoryBudget {
        let physical = ProcessInfo.processInfo.physicalMemory
        return MemoryBudget(bytes: physical > 0 ? Int(clamping: physical / 2) : 8 << 30)
    }

    /// Refuses `bytes` (nil: the size overflowed) for `what`, saying how much it needs and how to
    /// allow it.
    /// - Throws: ``MemoryBudgetError``.
    public func require(_ bytes: Int?, for what: String) throws {
        guard let bytes, bytes <= self.bytes else { throw MemoryBudgetError(what: what, needed: bytes, budget: self.bytes) }
    }

    /// `factors` multiplied, or nil on overflow (for ``require(_:for:)``).
    public static func product(_ factors: Int...) -> Int? {
        var total = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// `a + b`, or nil if either is nil or the sum overflows.
    public static func sum(_ terms: Int?...) -> Int? {
        var total = 0
        for t in terms {
            guard let t else { return nil }
            let (s, overflow) = total.addingReportingOverflow(t)
            if overflow { return nil }
            total = s
        }
        return total
    }
}

/// Work refused because it would need more memory than the budget.
public struct MemoryBudgetError: Error, CustomStringConvertible, Equatable {
    public let what: String
    public let needed: Int?
    public let budget: Int

    public var description: String {
        let size = needed.map { Self.gigabytes($0) } ?? "more bytes than can be counted"
        return "\(what) would need \(size), more than the memory budget of \(Self.gigabytes(budget)) (half the physical memory by default; --memory-limit GB raises it)"
    }

    static func gigabytes(_ bytes: Int) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1f MB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes) bytes"
    }
}
