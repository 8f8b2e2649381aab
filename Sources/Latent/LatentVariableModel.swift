import Foundation

/// What every fitted model in Latent has, whatever its family: its size and the data it describes.
///
/// The capabilities a model family offers are the protocols below, so that generic code (the
/// command line's `score`, `sample` and `transform`, a user's own tools) works through them
/// instead of testing which family a model is. Sequence models (hidden Markov models, linear
/// dynamical systems) score and sample whole sequences and offer their own methods.
public protocol LatentVariableModel: Sendable {
    /// Free parameters (the `k` of BIC and AIC).
    var parameterCount: Int { get }
    /// Data columns `D` the model describes.
    var dimension: Int { get }
    /// Whether the model's scores and features integrate missing values (NaN) out; when false,
    /// callers must pass complete rows. False by default.
    var integratesMissingValues: Bool { get }
}

extension LatentVariableModel {
    public var integratesMissingValues: Bool { false }
}

/// A model with a closed-form `log p(x)` for each row.
public protocol RowScoring: LatentVariableModel {
    /// `log p(xᵢ)` of each row of `x` (`N × D`), in parallel over `threads` cores. Missing values
    /// (NaN) are integrated out when ``LatentVariableModel/integratesMissingValues``.
    func logLikelihoods(of x: Matrix<Double>, threads: Int) -> [Double]
}

/// A model whose rows are independent draws: a latent value from the prior, then the row.
public protocol RowSampling: LatentVariableModel {
    /// Names of the columns of the latent values ``sampleRows(count:using:)`` returns
    /// (`component`, or `z0`, `z1`, …).
    var latentColumnNames: [String] { get }
    /// `count` independent rows (`count × D`) with the latent value behind each (`count × L`).
    func sampleRows(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>)
}

/// A model that maps each row to features of its latent variable: posterior probabilities of
/// the components, posterior means of factors, encoder means, hidden-unit probabilities.
public protocol FeatureExtracting: LatentVariableModel {
    /// Names of the feature columns (`p0`, `z0`, `h0`, …).
    var featureNames: [String] { get }
    /// The features of each row of `x` (`N × D` in the data's raw units: the model applies its own
    /// preprocessing), `N × featureNames.count`.
    func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double>
}

// MARK: - Conformances

extension GaussianMixture: RowScoring, RowSampling, FeatureExtracting {
    public var integratesMissingValues: Bool { true }
    public var latentColumnNames: [String] { ["component"] }
    public func sampleRows(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>) {
        let (points, components) = sample(count: count, using: &rng)
        return (points, Matrix(rows: count, columns: 1, storage: components.map(Double.init)))
    }
    public var featureNames: [String] { (0..<componentCount).map { "p\($0)" } }
    /// The responsibilities `p(z = k | xᵢ)`.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> { responsibilities(for: x, threads: threads) }
}

extension BayesianGaussianMixture: RowScoring, RowSampling, FeatureExtracting {
    /// The posterior predictive density of each row (complete rows; `threads` is not used).
    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> [Double] { logLikelihoods(of: x) }
    public var latentColumnNames: [String] { ["component"] }
    public func sampleRows(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>) {
        let (points, components) = sample(count: count, using: &rng)
        return (points, Matrix(rows: count, columns: 1, storage: components.map(Double.init)))
    }
    public var featureNames: [String] { (0..<componentCount).map { "p\($0)" } }
    /// The responsibilities under the posterior predictive.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> { predictiveResponsibilities(x) }
}

extension LinearGaussianModel: RowScoring, RowSampling, FeatureExtracting {
    public var integratesMissingValues: Bool { true }
    /// `log p(xᵢ)` under the marginal Gaussian (`threads` is not used).
    public func logLikelihoods(of x: Matrix<Double>, threads: Int) -> [Double] { logLikelihoods(of: x) }
    public var latentColumnNames: [String] { (0..<factorCount).map { "z\($0)" } }
    public func sampleRows(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>) {
        sample(count: count, using: &rng)
    }
    public var featureNames: [String] { (0..<factorCount).map { "z\($0)" } }
    /// The posterior means `E[z | xᵢ]`.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> { latentMeans(of: x) }
}

extension VariationalAutoencoder: LatentVariableModel {}

extension VariationalAutoencoder: RowSampling, FeatureExtracting where S == Float {
    public var latentColumnNames: [String] { (0..<latentSize).map { "z\($0)" } }
    /// Rows decoded from `z ~ 𝒩(0, I)` (the decoder's means), with the `z`.
    public func sampleRows(count: Int, using rng: inout Xoshiro256StarStar) -> (points: Matrix<Double>, latents: Matrix<Double>) {
        let (points, latents) = sample(count: count, using: &rng)
        return (points.double, latents.double)
    }
    public var featureNames: [String] { (0..<latentSize).map { "z\($0)" } }
    /// The encoder means `μ(xᵢ)` of the preprocessed rows.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        encode(preprocessing.apply(x) as Matrix<Float>).mean.double
    }
}

extension Autoencoder: LatentVariableModel {}

extension Autoencoder: FeatureExtracting where S == Float {
    public var featureNames: [String] { (0..<codeSize).map { "z\($0)" } }
    /// The codes of the preprocessed rows.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        encode(preprocessing.apply(x) as Matrix<Float>).double
    }
}

extension RestrictedBoltzmannMachine: FeatureExtracting {
    public var dimension: Int { visibleCount }
    public var featureNames: [String] { (0..<hiddenCount).map { "h\($0)" } }
    /// The hidden units' probabilities `p(hⱼ = 1 | xᵢ)` of the preprocessed rows.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        hiddenProbabilities(preprocessing.apply(x) as Matrix<Float>).double
    }
}

extension DeepBeliefNetwork: FeatureExtracting {
    public var dimension: Int { layers[0].visibleCount }
    public var featureNames: [String] { (0..<layers[layers.count - 1].hiddenCount).map { "h\($0)" } }
    /// The top layer's probabilities after an up pass of the preprocessed rows.
    public func features(of x: Matrix<Double>, threads: Int) -> Matrix<Double> {
        features(preprocessing.apply(x) as Matrix<Float>).double
    }
}

extension AnyHiddenMarkovModel: LatentVariableModel {}

extension LinearDynamicalSystem: LatentVariableModel {}
