import Foundation
import Testing
import Latent
import TestSupport

@Suite(.serialized) struct VAECLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func fitScoreTransformAndSampleAVAEOnIDX() throws {
        let images = TestData.path("mnist5k-train-images.idx3-ubyte")
        let model = dir.appendingPathComponent("vae.safetensors").path
        let r = try CommandRunner.run(["fit", "vae", "--data", images, "--binarize", "--latent", "8", "--hidden", "64",
                                       "--epochs", "2", "--seed", "3", "--output", model, "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations", "converged", "seconds"] {
            #expect(o[key] != nil, "missing \(key)")
        }
        #expect(o["model"] as? String == "vae" && o["n"] as? Int == 4000 && o["epochs"] as? Int == 2)
        // Same seed, same bytes.
        let again = dir.appendingPathComponent("again.safetensors").path
        _ = try CommandRunner.run(["fit", "vae", "--data", images, "--binarize", "--latent", "8", "--hidden", "64",
                                   "--epochs", "2", "--seed", "3", "--output", again, "--quiet"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: again)))
        var estimates: [String: Double] = [:]
        for estimator in ["elbo", "iwae", "naive-mc"] {
            let s = try json(CommandRunner.run(["score", "--model", model, "--data", images, "--estimator", estimator,
                                                "--samples", "20", "--json"]).standardOutput)
            #expect(s["estimator"] as? String == estimator && s["samples"] as? Int == 20 && (s["standardError"] as? Double ?? -1) > 0)
            estimates[estimator] = s["meanLogLikelihood"] as? Double
        }
        #expect(estimates["iwae"]! > estimates["elbo"]! && estimates["iwae"]! > estimates["naive-mc"]!)
        // The decoder's output layer: bfloat16 by default for this Bernoulli decoder where the CPU has
        // AVX-512 BF16, named in --json; --precision fp32 gives the same estimate within rounding.
        let single = try json(CommandRunner.run(["score", "--model", model, "--data", images, "--estimator", "iwae",
                                                 "--samples", "20", "--precision", "fp32", "--json"]).standardOutput)
        let automatic = try json(CommandRunner.run(["score", "--model", model, "--data", images, "--estimator", "iwae",
                                                    "--samples", "20", "--json"]).standardOutput)
        #expect(single["precision"] as? String == "fp32")
        #expect(automatic["precision"] as? String == (BFloat16Matrix.isSupported ? "bf16" : "fp32"))
        #expect(abs((automatic["meanLogLikelihood"] as! Double) - (single["meanLogLikelihood"] as! Double))
                < 0.01 * (single["standardError"] as! Double))
        #expect(try CommandRunner.run(["score", "--model", model, "--data", images, "--precision", "fp16"]).status != 0)
        // Kernels capped below AVX-512 (LATENT_SIMD) leave the product in single precision.
        let capped = try json(CommandRunner.run(["score", "--model", model, "--data", images, "--estimator", "iwae", "--samples", "20",
                                                 "--json"], environment: ["LATENT_SIMD": "avx2"]).standardOutput)
        #expect(capped["precision"] as? String == "fp32")
        let z = try CommandRunner.run(["transform", "--model", model, "--data", images]).standardOutput.split(separator: "\n")
        #expect(z.count == 4001 && z[0].hasPrefix("z0,z1"))
        let sample = try CommandRunner.run(["sample", "--model", model, "--count", "3", "--seed", "1"]).standardOutput.split(separator: "\n")
        #expect(sample.count == 4 && sample[0].hasPrefix("x1,x2"))
        let refined = try json(CommandRunner.run(["score", "--model", model, "--data", images, "--estimator", "elbo", "--samples", "5",
                                                  "--refine-steps", "20", "--json"]).standardOutput)
        #expect((refined["amortizationGap"] as? Double ?? -1) > 0 && refined["refineSteps"] as? Int == 20)
        // The plain autoencoder: codes and reconstruction scores, no samples.
        let ae = dir.appendingPathComponent("ae.safetensors").path
        let fitted = try CommandRunner.run(["fit", "autoencoder", "--data", images, "--binarize", "--latent", "6", "--hidden", "32",
                                            "--epochs", "1", "--output", ae, "--json", "--quiet"])
        #expect(fitted.status == 0, "\(fitted.standardError)")
        #expect(try json(CommandRunner.run(["score", "--model", ae, "--data", images, "--json"]).standardOutput)["model"] as? String == "autoencoder")
        let codes = try CommandRunner.run(["transform", "--model", ae, "--data", images]).standardOutput.split(separator: "\n")
        #expect(codes.count == 4001 && codes[0] == "z0,z1,z2,z3,z4,z5")
        let noSample = try CommandRunner.run(["sample", "--model", ae, "--count", "2"])
        #expect(noSample.status != 0 && noSample.standardError.contains("no prior"))
        // Pixels scaled already (or binarised) would be scaled again into near-blank images and score
        // a plausible, wrong number: refused by name. The raw values of the same rows score.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: images)).dropFirst(16).prefix(20 * 784).map { Double($0) }
        func csv(_ name: String, _ value: (Double) -> Double) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let rows = (0..<20).map { i in (0..<784).map { "\(value(bytes[i * 784 + $0]))" }.joined(separator: ",") }
            try ((1...784).map { "x\($0)" }.joined(separator: ",") + "\n" + rows.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let raw = try csv("raw.csv") { $0 }
        #expect(try CommandRunner.run(["score", "--model", model, "--data", raw, "--samples", "5", "--json"]).status == 0)
        for (name, value, message) in [("scaled.csv", { (v: Double) in v / 255 }, "holds"), ("binary.csv", { (v: Double) in v > 127 ? 1 : 0 }, "0 or 1")] {
            let path = try csv(name, value)
            for command in [["score", "--samples", "5"], ["transform"]] {
                let refused = try CommandRunner.run([command[0], "--model", model, "--data", path] + command.dropFirst())
                #expect(refused.status != 0 && refused.standardError.contains(name) && refused.standardError.contains("raw pixel values")
                        && refused.standardError.contains(message), "\(command[0]) \(name): \(refused.standardError)")
            }
        }
        // A truncated model file is refused with its name.
        let broken = dir.appendingPathComponent("broken.safetensors").path
        try Data(contentsOf: URL(fileURLWithPath: model)).prefix(5000).write(to: URL(fileURLWithPath: broken))
        let failure = try CommandRunner.run(["score", "--model", broken, "--data", images])
        #expect(failure.status != 0 && failure.standardError.contains("broken.safetensors"))
    }
}
