import Foundation

extension GaussianMixture {
    /// Runs `body` with a kernel centred on the mixture's mean over blocks of the rows of `x`, split
    /// across `threads` cores.
    private func kernelPass(_ x: Matrix<Double>, threads: Int,
                            _ body: (MixtureKernel, UnsafePointer<Double>, Range<Int>) -> Void) {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        let shift = (0..<dimension).map { j in (0..<componentCount).reduce(0) { $0 + weights[$1] * means[$1, j] } }
        let kernel = MixtureKernel(self, shift: shift)
        x.withUnsafeBufferPointer { xp in
            ChunkedWork(count: x.rows, minimumChunk: 1024).run(threads: threads) { _, range in
                body(kernel, xp.start, range)
            }
        }
    }

    /// `log p(xᵢ)` of every row and, if asked, the responsibilities (missing values integrated out).
    func evaluate(_ x: Matrix<Double>, threads: Int, responsibilities: Bool)
        -> (logLikelihoods: [Double], responsibilities: Matrix<Double>?)
    {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        if x.elements.contains(where: { $0.isNaN }) {
            let result = evaluateWithMissing(x, shift: [Double](repeating: 0, count: dimension), statistics: false, imputation: false)
            return (result.logLikelihoods, responsibilities ? result.responsibilities : nil)
        }
        var ll = [Double](repeating: 0, count: x.rows)
        var resp = Matrix<Double>(rows: responsibilities ? x.rows : 0, columns: componentCount)
        ll.withUnsafeMutableBufferPointer { llp in
            resp.withUnsafeMutableBufferPointer { rp in
                let llBase = llp.start, rBase = responsibilities ? rp.baseAddress : nil
                kernelPass(x, threads: threads) { kernel, data, range in
                    kernel.evaluate(data: data, rows: range, logLikelihoods: llBase, responsibilities: rBase, statistics: nil)
                }
            }
        }
        return (ll, responsibilities ? resp : nil)
    }

    /// `log wₖ + log 𝒩(xᵢ | μₖ, Σₖ)` for every row and component (`N × K`), split across `threads`.
    /// A missing value (NaN) is integrated out: the row's density is that of its observed
    /// coordinates (`log wₖ` alone for a row with none).
    /// - Precondition: `x` has ``dimension`` columns.
    /// - Complexity: complete rows `O(N·K·D²)` in BLAS-3 blocks; rows with missing values `O(K·D³)`
    ///   per missingness pattern and `O(K·D²)` per row.
    public func componentLogDensities(of x: Matrix<Double>, threads: Int = availableCores) -> Matrix<Double> {
        // The kernel writes every row; rows with a missing value are then scored on their observed coordinates.
        var densities = Matrix<Double>(rows: x.rows, columns: componentCount) { out in
            guard let base = out.baseAddress else { return }
            kernelPass(x, threads: threads) { kernel, data, range in
                kernel.evaluate(data: data, rows: range, logLikelihoods: nil, responsibilities: nil,
                                statistics: nil, componentLogDensities: base)
            }
        }
        guard x.containsNaN else { return densities }
        let d = x.columns
        let incomplete = x.withUnsafeBufferPointer { p in (0..<x.rows).filter { i in (0..<d).contains { p[i * d + $0].isNaN } } }
        let marginal = evaluateWithMissing(x.selectingRows(incomplete), shift: [Double](repeating: 0, count: dimension),
                                           statistics: false, imputation: false).componentLogDensities
        for (a, i) in incomplete.enumerated() { for c in 0..<componentCount { densities[i, c] = marginal[a, c] } }
        return densities
    }

    /// `log p(xᵢ)` for each row of `x`, in nats. Finite even for points thousands of standard
    /// deviations away: the E-step works in log space throughout. A missing value (NaN) is
    /// integrated out: the row is scored on its observed coordinates.
    /// - Precondition: `x` has ``dimension`` columns.
    public func logLikelihoods(of x: Matrix<Double>, threads: Int = availableCores) -> [Double] {
        evaluate(x, threads: threads, responsibilities: false).logLikelihoods
    }

    /// `Σᵢ log p(xᵢ)`, the total log-likelihood in nats.
    public func totalLogLikelihood(of x: Matrix<Double>, threads: Int = availableCores) -> Double {
        logLikelihoods(of: x, threads: threads).reduce(0, +)
    }

    /// The mean log-likelihood per row (scikit-learn's `score`), in nats.
    public func meanLogLikelihood(of x: Matrix<Double>, threads: Int = availableCores) -> Double {
        totalLogLikelihood(of: x, threads: threads) / Double(max(1, x.rows))
    }

    /// The posterior `p(z = k | xᵢ)`, an `N × K` matrix whose rows sum to 1.
    public func responsibilities(for x: Matrix<Double>, threads: Int = availableCores) -> Matrix<Double> {
        evaluate(x, threads: threads, responsibilities: true).responsibilities!
    }

    /// The most probable component of each row.
    public func predict(_ x: Matrix<Double>, threads: Int = availableCores) -> [Int] {
        let r = responsibilities(for: x, threads: threads)
        return (0..<r.rows).map { i in
            var best = 0
            for c in 1..<max(1, r.columns) where r[i, c] > r[i, best] { best = c }
            return best
        }
    }

    /// Bayesian information criterion `−2 log L + p log N` (lower is better).
    public func bic(for x: Matrix<Double>, threads: Int = availableCores) -> Double {
        Self.bic(logLikelihood: totalLogLikelihood(of: x, threads: threads), parameters: parameterCount, count: x.rows)
    }

    /// Akaike information criterion `−2 log L + 2p` (lower is better).
    public func aic(for x: Matrix<Double>, threads: Int = availableCores) -> Double {
        Self.aic(logLikelihood: totalLogLikelihood(of: x, threads: threads), parameters: parameterCount)
    }

    /// BIC from a total log-likelihood.
    public static func bic(logLikelihood: Double, parameters: Int, count: Int) -> Double {
        -2 * logLikelihood + Double(parameters) * log(Double(count))
    }

    /// AIC from a total log-likelihood.
    public static func aic(logLikelihood: Double, parameters: Int) -> Double {
        -2 * logLikelihood + 2 * Double(parameters)
    }
}
