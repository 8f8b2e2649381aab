import Foundation

/// Quantiles of the standard normal distribution.
public enum NormalQuantile {
    /// The `z` with `P(Z > z) = p` for a standard normal `Z`, `0 < p < 1` (1.959964 for
    /// `p = 0.025`). Bisection on `erfc`, to full double precision; 200 evaluations at most.
    public static func upper(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "p must lie strictly between 0 and 1")
        if p > 0.5 { return -upper(1 - p) }
        var low = 0.0, high = 40.0
        for _ in 0..<200 {
            let mid = 0.5 * (low + high)
            if 0.5 * erfc(mid / 2.0.squareRoot()) > p { low = mid } else { high = mid }
            if high - low <= 1e-15 * max(1, mid) { break }
        }
        return 0.5 * (low + high)
    }
}
