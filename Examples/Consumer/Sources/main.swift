// Latent as a library: a mixture, factor analysis, a hidden Markov model and a VAE on the data sets
// bundled with Latent. Usage: latent-consumer [DATA_DIRECTORY] (default ../../Data).
import Foundation
import Latent

let dataDirectory = CommandLine.arguments.dropFirst().first ?? "../../Data"
func path(_ name: String) -> String { dataDirectory + "/" + name }

// 1. A Gaussian mixture on Old Faithful: fit, score, save, reload, predict.
let faithful = try DataLoader.load(path: path("faithful.csv")).table
let (mixture, mixtureReport) = try GaussianMixture.fit(faithful.values, components: 2,
                                                       options: MixtureFitOptions(covarianceType: .full, seed: 1))
print("mixture: mean log-likelihood \(mixture.meanLogLikelihood(of: faithful.values)) after \(mixtureReport.totalIterations) EM iterations")
let modelPath = FileManager.default.temporaryDirectory.appendingPathComponent("latent-consumer-faithful.json").path
try ModelFile(model: .gaussianMixture(mixture), columns: faithful.columnNames).write(to: modelPath)
guard case .gaussianMixture(let reloaded) = try ModelFile.read(path: modelPath).model else { fatalError("\(modelPath) holds no mixture") }
let labels = reloaded.predict(faithful.values)
precondition(labels == mixture.predict(faithful.values), "the reloaded mixture clusters differently")
print("mixture: reloaded from \(modelPath); cluster sizes \((0..<2).map { c in labels.filter { $0 == c }.count })")

// 2. Factor analysis of the iris measurements: fit and transform (E[z | x]).
let iris = try DataLoader.load(path: path("iris.csv")).table
let (factors, _) = try FactorAnalysis.fit(iris.values, factors: 1)
let scores = factors.latentMeans(of: iris.values)
print("factor analysis: \(scores.rows) factor scores, first \(scores[0, 0]); mean log-likelihood \(factors.logLikelihoods(of: iris.values).reduce(0, +) / Double(iris.values.rows))")

// 3. A two-state hidden Markov model of the Nile's flow: fit and decode.
let nile = try DataLoader.load(path: path("nile.csv"), columns: ["flow"]).table
let (hmm, _) = try HiddenMarkovModel<GaussianEmission>.fit(nile.values, states: 2, options: HMMFitOptions(seed: 0))
let (states, logProbability) = hmm.viterbi(nile.values)
let change = states.firstIndex { $0 != states[0] } ?? -1
print("hidden Markov model: the Viterbi path changes state at row \(change + 1) (log probability \(logProbability))")

// 4. A small VAE on 500 binarised digits: one epoch, then four samples.
let preprocessing = Preprocessing(scale: 1.0 / 255, binarizeThreshold: 0.5)
let digits: Matrix<Float> = preprocessing.apply(try IDX.read(path: path("mnist5k-train-images.idx3-ubyte")).selectingRows(0..<500))
var rng = Xoshiro256StarStar(seed: 1)
var vae = VariationalAutoencoder<Float>(dimension: 784, latent: 8, hidden: [128], likelihood: .bernoulli,
                                        preprocessing: preprocessing, using: &rng)
let epochs = vae.train(on: digits, options: VAETrainingOptions(epochs: 1, seed: 2))
let (images, _) = vae.sample(count: 4, using: &rng)
print("VAE: ELBO \(epochs.last!.meanObjective) per image after one epoch; \(images.rows) sampled images of \(images.columns) pixels")
