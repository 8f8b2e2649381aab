import LatentKernels

/// The scaled forward and backward recursions of a Markov chain with at most 8 states, its
/// posterior pass, and the scaled emission likelihoods they read: the C kernels of ``InstructionSet``, one vector of `lanes` (4 or 8) doubles per
/// step with zero-padded states.
///
/// `rows` and `columns` hold the transition matrix `A` and its transpose, `lanes × lanes` with zeros
/// past the states; `b` (`steps × lanes`) the emission likelihoods, scaled per step. A step's vector
/// is divided by its sum only when the sum leaves `[2⁻⁶⁴, 2⁶⁴]`; the divisor (1 if none) goes to that
/// step's entry of the scales. Each function costs `O(steps · lanes²)`.
public enum ScaledRecursions {
    /// Scaled emission likelihoods for the steps in `range`: `b[t·width + s] = exp(logB[t·states + s] − m_t)`
    /// for `s < states` and 0 up to `width`, where `m_t` is the step's largest entry (0 when that is
    /// not finite); returns `Σ m_t`. Any number of states (`width` ≥ `states`).
    public static func exponentiate(states: Int, width: Int, logB: UnsafePointer<Double>, range: Range<Int>,
                                    into b: UnsafeMutablePointer<Double>) -> Double {
        precondition(width >= states)
        return latent_hmm_exponentiate_f64(states, width, logB, range.lowerBound, range.upperBound, b)
    }

    /// `α̂_t ∝ (α̂_{t−1} A) ⊙ b_t` for `t = 1 ..< steps`, from `α̂_0` in `alpha[0 ..< lanes]`.
    public static func forward(lanes: Int, rows: UnsafePointer<Double>, b: UnsafePointer<Double>, steps: Int,
                               alpha: UnsafeMutablePointer<Double>, scales: UnsafeMutablePointer<Double>) {
        precondition(lanes == 4 || lanes == 8)
        latent_hmm_forward_f64(lanes, rows, b, steps, alpha, scales)
    }

    /// `β̃_t ∝ A (b_{t+1} ⊙ β̃_{t+1})` for `t = steps − 2` down to 0, from `β̃` at `steps − 1`.
    public static func backward(lanes: Int, columns: UnsafePointer<Double>, b: UnsafePointer<Double>, steps: Int,
                                beta: UnsafeMutablePointer<Double>, scales: UnsafeMutablePointer<Double>) {
        precondition(lanes == 4 || lanes == 8)
        latent_hmm_backward_f64(lanes, columns, b, steps, beta, scales)
    }

    /// Both recursions in one loop on one core: step `t` of one chain overlaps step `T − 1 − t` of the
    /// other in the pipeline (each is a chain of dependent steps).
    public static func forwardBackward(lanes: Int, rows: UnsafePointer<Double>, columns: UnsafePointer<Double>,
                                       b: UnsafePointer<Double>, steps: Int,
                                       alpha: UnsafeMutablePointer<Double>, beta: UnsafeMutablePointer<Double>,
                                       forwardScales: UnsafeMutablePointer<Double>, backwardScales: UnsafeMutablePointer<Double>) {
        precondition(lanes == 4 || lanes == 8)
        latent_hmm_forward_backward_f64(lanes, rows, columns, b, steps, alpha, beta, forwardScales, backwardScales)
    }

    /// For `t` in `range`: `γ_t = α̂_t ⊙ β̃_t / (α̂_t · β̃_t)` into `gamma` (`states` values per step;
    /// zeros where the overlap is 0 or not finite) if given, and, if `sums` (`states × lanes`) is given,
    /// `sums[i, j] = Σ_t α̂_t(i) b_{t+1}(j) β̃_{t+1}(j) / (backwardScales[t] · α̂_t · β̃_t)`.
    public static func posteriors(lanes: Int, states: Int, range: Range<Int>, steps: Int,
                                  alpha: UnsafePointer<Double>, beta: UnsafePointer<Double>, b: UnsafePointer<Double>,
                                  backwardScales: UnsafePointer<Double>, gamma: UnsafeMutablePointer<Double>?,
                                  sums: UnsafeMutablePointer<Double>?) {
        precondition(lanes == 4 || lanes == 8)
        latent_hmm_posteriors_f64(lanes, states, range.lowerBound, range.upperBound, steps, alpha, beta, b, backwardScales,
                                  gamma, sums)
    }
}
