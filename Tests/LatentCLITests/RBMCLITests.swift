import Foundation
import Testing
import TestSupport

/// `latent fit rbm` and the commands that read its safetensors file.
@Suite(.serialized) struct RBMCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The JSON header of a safetensors file (after its 8-byte little-endian length).
    func safetensorsHeader(_ path: String) throws -> [String: Any] {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        return try json(String(decoding: bytes[8..<(8 + length)], as: UTF8.self))
    }

    @Test func fitScoreTransformSampleAndInfo() throws {
        let mnist = TestData.path("mnist5k-train-images.idx3-ubyte"), model = dir.appendingPathComponent("rbm.safetensors").path
        let r = try CommandRunner.run(["fit", "rbm", "--data", mnist, "--binarize", "--hidden", "12", "--epochs", "2", "--persistent",
                                       "--seed", "3", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        #expect(o["model"] as? String == "rbm" && o["method"] as? String == "pcd-1" && o["estimator"] as? String == "exact")
        let trainMean = try #require(o["meanLogLikelihood"] as? Double)
        // Exact scoring equals the fit's exact training log-likelihood; the keys of the issue are there.
        let exact = try json(CommandRunner.run(["score", "--model", model, "--data", mnist, "--json"]).standardOutput)
        for key in ["meanLogLikelihood", "standardError", "logPartition", "logPartitionStandardError", "n"] { #expect(exact[key] != nil, "missing \(key)") }
        #expect(exact["estimator"] as? String == "exact" && exact["logPartitionStandardError"] as? Double == 0)
        #expect(abs((exact["meanLogLikelihood"] as! Double) - trainMean) < 1e-9 * abs(trainMean))
        // AIS agrees with the exact value within its error bar (and 1 nat).
        let ais = try json(CommandRunner.run(["score", "--model", model, "--data", mnist, "--estimator", "ais",
                                              "--json"]).standardOutput)
        let gap = abs((ais["logPartition"] as! Double) - (exact["logPartition"] as! Double))
        print("RBM CLI: exact log Z \(exact["logPartition"]!), AIS \(ais["logPartition"]!) ± \(ais["logPartitionStandardError"]!)")
        #expect(gap <= max(1, 3 * (ais["logPartitionStandardError"] as! Double)))
        // Hidden probabilities per row, draws in the model's columns, and a VAE estimator refused.
        let features = try CommandRunner.run(["transform", "--model", model, "--data", mnist]).standardOutput.split(separator: "\n")
        #expect(features.count == 4_001 && features[0].split(separator: ",").count == 12)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "3", "--gibbs-steps", "10", "--seed", "1"]).standardOutput
            .split(separator: "\n")
        #expect(sample.count == 4 && sample[1].split(separator: ",").count == 784)
        let info = try json(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput)
        #expect(info["hidden"] as? Int == 12 && info["visibleUnits"] as? String == "bernoulli")
        let refused = try CommandRunner.run(["score", "--model", model, "--data", mnist, "--estimator", "iwae"])
        #expect(refused.status != 0 && refused.standardError.contains("exact or ais"))
        // The weight file follows PyTorch's layout: weight is [hidden, visible].
        let header = try safetensorsHeader(model)
        #expect((header["weight"] as? [String: Any])?["shape"] as? [Int] == [12, 784])
        #expect((header["visible_bias"] as? [String: Any])?["shape"] as? [Int] == [784])
        #expect((header["hidden_bias"] as? [String: Any])?["shape"] as? [Int] == [12])
    }

    @Test func deepBeliefNetworkFitScoreTransformSampleAndInfo() throws {
        let mnist = TestData.path("mnist5k-train-images.idx3-ubyte"), model = dir.appendingPathComponent("dbn.safetensors").path
        let r = try CommandRunner.run(["fit", "dbn", "--data", mnist, "--binarize", "--layers", "20,10", "--epochs", "1", "--seed", "2",
                                       "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(try json(r.standardOutput)["layers"] as? [Int] == [20, 10])
        let score = try json(CommandRunner.run(["score", "--model", model, "--data", mnist, "--samples", "5", "--json"]).standardOutput)
        for key in ["meanLogLikelihood", "standardError", "logPartition", "logPartitionStandardError", "n"] { #expect(score[key] != nil, "missing \(key)") }
        #expect((score["estimator"] as? String)?.hasPrefix("lower-bound") == true && score["n"] as? Int == 4_000)
        let bound = try #require(score["meanLogLikelihood"] as? Double)
        #expect(bound < 0 && bound > -544, "a bound of \(bound) nats per image is below the untrained model's −784 log 2")
        let features = try CommandRunner.run(["transform", "--model", model, "--data", mnist]).standardOutput.split(separator: "\n")
        #expect(features.count == 4_001 && features[0].split(separator: ",").count == 10)
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "2", "--gibbs-steps", "5", "--seed", "1"]).standardOutput
            .split(separator: "\n")
        #expect(sample.count == 3 && sample[1].split(separator: ",").count == 784)
        let info = try json(CommandRunner.run(["info", "--model", model, "--json"]).standardOutput)
        #expect(info["model"] as? String == "dbn" && info["layers"] as? [Int] == [20, 10])
        let header = try safetensorsHeader(model)
        #expect((header["layers.0.weight"] as? [String: Any])?["shape"] as? [Int] == [20, 784])
        #expect((header["layers.1.weight"] as? [String: Any])?["shape"] as? [Int] == [10, 20])
    }
}
