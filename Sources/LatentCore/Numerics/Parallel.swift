import Foundation

/// Splits work over a fixed number of chunks and runs them on up to `threads` cores.
///
/// The partition depends only on the problem size, never on the thread count, and per-chunk results
/// are reduced in chunk order, so a computation gives bit-identical results with 1 or 32 threads.
public struct ChunkedWork: Sendable {
    /// Half-open row ranges, in order.
    public let ranges: [Range<Int>]

    /// Partitions `0..<count` into at most `maxChunks` contiguous ranges of at least `minimumChunk` items.
    public init(count: Int, minimumChunk: Int = 2048, maxChunks: Int = 32) {
        let chunks = max(1, min(maxChunks, count / max(1, minimumChunk)))
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(chunks)
        for c in 0..<chunks {
            let lo = count * c / chunks, hi = count * (c + 1) / chunks
            ranges.append(lo..<hi)
        }
        self.ranges = ranges
    }

    /// Runs `body(chunkIndex, range)` for every chunk, on `threads` workers.
    ///
    /// `body` runs concurrently for different chunks. It must write only memory that belongs to its
    /// own chunk (rows in `range`, or slot `chunkIndex` of a per-chunk buffer) and only read memory
    /// that no chunk writes: the compiler cannot check this for raw pointers, so this function and
    /// ``runConcurrently(_:parallel:_:)`` are the package's only places where a closure crosses threads.
    public func run(threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let workers = max(1, min(threads, ranges.count))
        if workers == 1 {
            for (i, r) in ranges.enumerated() { body(i, r) }
            return
        }
        let ranges = self.ranges
        withoutActuallyEscaping(body) { body in
            let shared = ConcurrentClosure(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var i = w
                while i < ranges.count {
                    shared.body(i, ranges[i])
                    i += workers
                }
            }
        }
    }
}

/// Runs `body(0)`, …, `body(count − 1)`, concurrently when `parallel` is set (same contract as
/// ``ChunkedWork/run(threads:_:)``: each call writes only its own memory).
public func runConcurrently(_ count: Int, parallel: Bool, _ body: (Int) -> Void) {
    guard parallel, count > 1 else {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = ConcurrentClosure(body)
        DispatchQueue.concurrentPerform(iterations: count) { shared.body($0) }
    }
}

/// Carries a closure into `DispatchQueue.concurrentPerform`. Unchecked: the callers above document
/// the disjoint-memory contract that makes the concurrent calls safe.
private struct ConcurrentClosure<Body>: @unchecked Sendable {
    let body: Body
    init(_ body: Body) { self.body = body }
}

/// The number of cores this process may use, read once (Foundation reads cgroup files on every
/// query, which is slow and, called from several threads at once, was seen to crash).
public let availableCores: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
