import Foundation

/// Settings for fitting factor analysis and probabilistic PCA.
public struct LinearGaussianFitOptions: Sendable {
    /// Stopping rules for EM (tolerance on the mean log-likelihood per row).
    public var em = EMOptions(maxIterations: 10_000, tolerance: 1e-7)
    /// Lower bound on noise variances. scikit-learn uses 1e-12; a constant column drives its
    /// variance here (and Latent warns).
    public var noiseFloor: Double = 1e-12
    /// Rotate the fitted loadings (factor analysis only; the likelihood is unchanged).
    public var rotation: FactorRotation = .none
    /// Receives progress lines.
    public var log: (@Sendable (String) -> Void)? = nil

    public init() {}
}

/// A rotation of factor-analysis loadings.
public enum FactorRotation: String, CaseIterable, Codable, Sendable {
    case none
    /// Kaiser's varimax: maximises the variance of the squared loadings within each factor.
    case varimax
}

/// What a linear-Gaussian fit did.
public struct LinearGaussianFitReport: Sendable {
    /// The EM trace (one entry for the closed form).
    public var trace: EMTrace
    /// Rows fitted.
    public var count: Int
    /// Observed values fitted (fewer than rows × columns when values are missing).
    public var observedValues: Int
    /// Warnings: Heywood cases, constant columns.
    public var warnings: [String]

    public var logLikelihood: Double { trace.logLikelihood }
    public var meanLogLikelihood: Double { trace.logLikelihood / Double(max(1, count)) }
}

/// Factor analysis: `x = μ + W z + ε` with `k` factors and diagonal noise, fitted by EM through the
/// shared driver, with missing values integrated out exactly.
public enum FactorAnalysis {
    /// Fits `factors` factors to the rows of `x` (NaN = missing).
    ///
    /// EM starts from the probabilistic-PCA solution of the mean-imputed covariance and works on
    /// per-pattern sufficient statistics, so each iteration costs `O(patterns · D²k)` however many
    /// rows there are.
    /// - Throws: ``ModelError`` for empty data, rows with nothing observed, too many factors.
    public static func fit(_ x: Matrix<Double>, factors: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: LinearGaussianFitReport)
    {
        try LinearGaussianFitting.fit(x, factors: factors, noise: .diagonal, options: options)
    }
}

/// Probabilistic PCA (Tipping & Bishop 1999): `x = μ + W z + ε` with isotropic noise `σ² I`.
public enum ProbabilisticPCA {
    /// The closed-form maximum-likelihood fit from the eigen-decomposition of the sample covariance
    /// (LAPACK `dsyevd`): `W = U_k (Λ_k − σ² I)^{1/2}`, `σ²` the mean of the discarded eigenvalues.
    /// - Precondition: no missing values (use ``fit(_:components:options:)``, which switches to EM).
    public static func closedForm(_ x: Matrix<Double>, components: Int) throws -> LinearGaussianModel {
        precondition(x.missingCount == 0, "The closed form needs complete data")
        let data = LinearGaussianTrainingData(x, noiseFloor: 0)
        return try LinearGaussianFitting.principalSubspace(data, factors: components, floor: 1e-300)
    }

    /// Fits probabilistic PCA: the closed form for complete data, EM over the observed values when
    /// some are missing.
    public static func fit(_ x: Matrix<Double>, components: Int, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: LinearGaussianFitReport)
    {
        try LinearGaussianFitting.fit(x, factors: components, noise: .isotropic, options: options)
    }
}

extension LinearGaussianModel {
    /// Continues EM from this model (a warm start) on `x` (NaN = missing).
    public func refined(on x: Matrix<Double>, options: LinearGaussianFitOptions = LinearGaussianFitOptions())
        throws -> (model: LinearGaussianModel, report: LinearGaussianFitReport)
    {
        precondition(x.columns == dimension, "Data has \(x.columns) columns, the model \(dimension)")
        let data = LinearGaussianTrainingData(x, noiseFloor: options.noiseFloor)
        var model = self
        let trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em)
        return (model, LinearGaussianFitReport(trace: trace, count: x.rows, observedValues: x.rows * x.columns - x.missingCount, warnings: []))
    }
}

enum LinearGaussianFitting {
    static func fit(_ x: Matrix<Double>, factors: Int, noise: LinearGaussianNoise, options: LinearGaussianFitOptions)
        throws -> (model: LinearGaussianModel, report: LinearGaussianFitReport)
    {
        guard x.rows > 0, x.columns > 0 else { throw ModelError.emptyData }
        guard factors >= 1, factors < x.columns || (noise == .diagonal && factors <= x.columns) else {
            throw ModelError.invalidSetting("the number of factors must be between 1 and \(x.columns - 1) for \(x.columns) columns")
        }
        if let i = x.storage.firstIndex(where: { $0.isInfinite }) {
            throw ModelError.invalidSetting("row \(i / x.columns + 1), column \(i % x.columns + 1) is infinite")
        }
        let empty = (0..<x.rows).filter { i in (0..<x.columns).allSatisfy { x[i, $0].isNaN } }
        if !empty.isEmpty {
            throw ModelError.invalidSetting("row(s) \(empty.prefix(10).map { String($0 + 1) }.joined(separator: ", ")) have every value missing; drop them")
        }
        guard x.rows >= 2 else { throw ModelError.tooFewPoints(points: x.rows, needed: 2, what: "a linear-Gaussian model") }
        // Factor analysis is equivariant under a rescaling of the columns, so it is fitted to
        // columns scaled to unit variance and mapped back: EM and its PCA start are then equally
        // well conditioned in every column, whatever the units (probabilistic PCA is not
        // equivariant and is fitted as it is).
        let scales = noise == .diagonal ? unitVarianceScales(x) : [Double](repeating: 1, count: x.columns)
        let data = LinearGaussianTrainingData(scaled(x, by: scales), noiseFloor: options.noiseFloor)
        let observed = x.rows * x.columns - x.missingCount
        var model = try principalSubspace(data, factors: factors, floor: options.noiseFloor)
        if noise == .diagonal {
            model = try LinearGaussianModel(mean: model.mean, loadings: model.loadings, noiseVariances: model.noiseVariances, noise: .diagonal)
        }
        var trace: EMTrace
        if noise == .isotropic && x.missingCount == 0 {
            // The closed form is the maximum.
            let ll = try model.totalLogLikelihood(of: data)
            trace = EMTrace(history: [ll], iterations: 0, converged: true, stoppedOnDecrease: false)
        } else {
            trace = try ExpectationMaximization.run(&model, on: data, count: x.rows, options: options.em) { i, mean in
                if i % 50 == 0 { options.log?("iteration \(i): mean log-likelihood \(formatted(mean))") }
            }
        }
        model = model.rescaled(by: scales.map { 1 / $0 })
        let logJacobian = (0..<x.columns).reduce(0.0) { total, j in
            let observedInColumn = (0..<x.rows).reduce(0) { $0 + (x[$1, j].isNaN ? 0 : 1) }
            return total + Double(observedInColumn) * log(scales[j])
        }
        trace.history = trace.history.map { $0 + logJacobian }
        if options.rotation == .varimax && noise == .diagonal {
            model = model.rotated(by: Varimax.rotation(for: model.loadings))
        }
        var warnings: [String] = []
        let covariance = data.meanImputedCovariance
        for j in 0..<x.columns {
            if covariance[j, j] <= 0 {
                warnings.append("column \(j) is constant: its noise variance sits at the floor (\(formatted(options.noiseFloor))) and its likelihood terms are degenerate; drop the column")
            } else if noise == .diagonal && model.noiseVariances[j] <= max(options.noiseFloor * 10, 1e-9 * covariance[j, j]) {
                warnings.append("column \(j) is explained perfectly by the factors (a Heywood case: noise variance at the floor); use fewer factors or drop the column")
            }
        }
        return (model, LinearGaussianFitReport(trace: trace, count: x.rows, observedValues: observed, warnings: warnings))
    }

    /// `1 / sd` of each column's observed values (1 for a constant column).
    static func unitVarianceScales(_ x: Matrix<Double>) -> [Double] {
        (0..<x.columns).map { j in
            var n = 0.0, sum = 0.0, sumSquares = 0.0
            for i in 0..<x.rows where !x[i, j].isNaN { n += 1; sum += x[i, j] }
            guard n > 1 else { return 1 }
            let mean = sum / n
            for i in 0..<x.rows where !x[i, j].isNaN { sumSquares += (x[i, j] - mean) * (x[i, j] - mean) }
            let sd = (sumSquares / n).squareRoot()
            return sd > 0 && sd.isFinite ? 1 / sd : 1
        }
    }

    /// `x` with column `j` multiplied by `scales[j]` (missing values stay missing).
    static func scaled(_ x: Matrix<Double>, by scales: [Double]) -> Matrix<Double> {
        if scales.allSatisfy({ $0 == 1 }) { return x }
        var out = x
        for i in 0..<x.rows { for j in 0..<x.columns { out[i, j] *= scales[j] } }
        return out
    }

    /// The probabilistic-PCA solution of the (mean-imputed) covariance.
    static func principalSubspace(_ data: LinearGaussianTrainingData, factors k: Int, floor: Double) throws -> LinearGaussianModel {
        let d = data.dimension
        let eigen = try SymmetricEigen(data.meanImputedCovariance)
        let values = Array(eigen.values.reversed())       // descending
        let discarded = values.dropFirst(k)
        let sigma2 = max(discarded.isEmpty ? floor : discarded.reduce(0, +) / Double(discarded.count), floor)
        var w = Matrix<Double>(rows: d, columns: k)
        for f in 0..<min(k, d) {
            let column = d - 1 - f
            let scale = max(values[f] - sigma2, 0).squareRoot()
            for j in 0..<d { w[j, f] = eigen.vectors[j, column] * scale }
        }
        return try LinearGaussianModel(mean: data.shift, loadings: w, noiseVariances: [Double](repeating: sigma2, count: d), noise: .isotropic)
    }
}
