/// The stored form of a ``LinearGaussianModel``.
struct LinearGaussianParameters: Codable, Equatable {
    var noise: LinearGaussianNoise
    var mean: [Double]
    /// `D` rows of `k` loadings.
    var loadings: [[Double]]
    var noiseVariances: [Double]

    init(_ m: LinearGaussianModel) {
        noise = m.noise
        mean = m.mean
        loadings = m.loadings.rowArrays
        noiseVariances = m.noiseVariances
    }

    func makeModel() throws -> LinearGaussianModel {
        let d = mean.count
        guard d > 0, loadings.count == d, noiseVariances.count == d, let k = loadings.first?.count, k > 0,
              loadings.allSatisfy({ $0.count == k }) else {
            throw ModelError.invalidSetting("mean, loadings and noise variances must describe the same \(d) columns")
        }
        return try LinearGaussianModel(mean: mean, loadings: Matrix(loadings), noiseVariances: noiseVariances, noise: noise)
    }
}
