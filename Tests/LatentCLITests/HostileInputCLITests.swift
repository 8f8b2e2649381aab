import Foundation
import Testing
import TestSupport
import Latent

/// Hostile but realistic command lines: each is refused with a message that says what to do, or
/// handled safely, and no input file changes by a byte.
@Suite(.serialized) struct HostileInputCLITests {
    let dir = TestData.temporaryDirectory()

    /// A refusal case: the arguments (`$data`, `$model` and `$dir` stand for a copy of the faithful
    /// data, a model fitted to it, and the test's folder), words the error must contain.
    struct Refusal: CustomStringConvertible {
        let arguments: [String]
        let message: [String]
        var description: String { arguments.joined(separator: " ") }
    }

    static let refusals: [Refusal] = [
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--output", "$data"],
                message: ["same file as the data file", "Choose another output path"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--output", "$dir/hardlink.csv"],
                message: ["same file as the data file"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--warm-start", "$model", "--output", "$model"],
                message: ["same file as the warm-start model"]),
        Refusal(arguments: ["fit", "fa", "--data", "$data", "--factors", "1", "--output", "$data"],
                message: ["same file as the data file"]),
        Refusal(arguments: ["fit", "hmm", "--data", "$data", "--states", "2", "--output", "$data"],
                message: ["same file as the data file"]),
        Refusal(arguments: ["impute", "--model", "$model", "--data", "$data", "--output", "$model"],
                message: ["same file as the model"]),
        Refusal(arguments: ["impute", "--model", "$model", "--data", "$data", "--output", "$data"],
                message: ["same file as the data file"]),
        Refusal(arguments: ["select", "gmm", "--data", "$data", "--components", "1-2", "--output", "$data"],
                message: ["same file as the data file"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--output", "$dir"],
                message: ["is a directory"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--output", "$dir/missing/model.json"],
                message: ["does not exist"]),
        Refusal(arguments: ["score", "--model", "$dir", "--data", "$data"],
                message: ["is a directory"]),
        Refusal(arguments: ["score", "--model", "$dir/asymmetric.json", "--data", "$data"],
                message: ["not symmetric", "entry (2, 1)"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$dir/semicolons.csv", "--components", "2", "--output", "$dir/m.json"],
                message: ["no commas", "';'", "decimal"]),
        Refusal(arguments: ["impute", "--model", "$model", "--data", "$data", "--output", "$dir/out.npy"],
                message: ["writes the input's format", ".csv"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--initial-means", "$dir/nan-means.csv", "--output", "$dir/m.json"],
                message: ["row 2 of the means", "missing"]),
        Refusal(arguments: ["impute", "--model", "$model", "--data", "$data", "--draws", "1000000000", "--output", "$dir/draws.csv"],
                message: ["would need", "memory budget"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "-1", "--output", "$dir/m.json"],
                message: ["--components must be at least 1"]),
        Refusal(arguments: ["sample", "--model", "$model", "--count", "-5"],
                message: ["--count must be non-negative"]),
        Refusal(arguments: ["fit", "hmm", "--data", "$data", "--columns", "eruptions", "--emission", "poisson", "--states", "2", "--output", "$dir/m.json"],
                message: ["row 2, column 'eruptions'", "non-negative integers", "3.6"]),
        Refusal(arguments: ["fit", "vae", "--data", "$dir/constant.csv", "--likelihood", "gaussian", "--latent", "1", "--hidden", "4",
                            "--epochs", "1", "--output", "$dir/vae.safetensors"],
                message: ["column 'c' has the value 5 in every row", "--variance"]),
        Refusal(arguments: ["select", "gmm", "--data", "$data", "--components", "1-100000"],
                message: ["goes up to 100000", "272 rows"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--components", "2", "--memory-limit", "0.000001", "--output", "$dir/m.json"],
                message: ["would need", "memory budget", "--memory-limit"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$data", "--columns", "waiting,waiting", "--components", "2", "--output", "$dir/m.json"],
                message: ["names 'waiting' twice"]),
        Refusal(arguments: ["fit", "gmm", "--data", "$dir/duplicate.csv", "--components", "2", "--output", "$dir/m.json"],
                message: ["columns 'waiting' and 'again' carry the same information", "--covariance diag"]),
        Refusal(arguments: ["fit", "hmm", "--data", "$dir/dependent.csv", "--states", "2", "--output", "$dir/m.json"],
                message: ["'a', 'b', 'c' are linearly dependent"]),
        Refusal(arguments: ["select", "gmm", "--data", "$dir/dependent.csv", "--components", "1-2", "--covariance", "tied"],
                message: ["linearly dependent"]),
        Refusal(arguments: ["score", "--model", "$dir/extreme-variance.safetensors", "--data", "$data", "--json"],
                message: ["logVariance of column 1 is -100.0", "overflows single precision"]),
    ]

    /// The test folder with a data copy, a hard link to it and a fitted model; their bytes.
    func prepare() throws -> (data: String, model: String, bytes: [String: Data]) {
        let data = dir.appendingPathComponent("faithful.csv").path
        if !FileManager.default.fileExists(atPath: data) {
            try FileManager.default.copyItem(atPath: TestData.path("faithful.csv"), toPath: data)
            try FileManager.default.linkItem(atPath: data, toPath: dir.appendingPathComponent("hardlink.csv").path)
        }
        let model = dir.appendingPathComponent("model.json").path
        if !FileManager.default.fileExists(atPath: model) {
            let r = try CommandRunner.run(["fit", "gmm", "--data", data, "--components", "2", "--output", model, "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        try "eruptions;waiting\n3,6;79\n1,8;54\n".write(toFile: dir.appendingPathComponent("semicolons.csv").path, atomically: true, encoding: .utf8)
        try "a,b,c\n1,2,5\n2,3,5\n3,5,5\n4,4,5\n".write(toFile: dir.appendingPathComponent("constant.csv").path, atomically: true, encoding: .utf8)
        try "a,b,c\n1,2,3\n2,7,9\n3,5,8\n4,4,8\n5,1,6\n6,9,15\n".write(toFile: dir.appendingPathComponent("dependent.csv").path, atomically: true, encoding: .utf8)
        let faithful = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        try (["eruptions,waiting,again"] + faithful.dropFirst().map { "\($0),\($0.split(separator: ",")[1])" }).joined(separator: "\n")
            .write(toFile: dir.appendingPathComponent("duplicate.csv").path, atomically: true, encoding: .utf8)
        try "eruptions,waiting\n2,55\nNA,80\n".write(toFile: dir.appendingPathComponent("nan-means.csv").path, atomically: true, encoding: .utf8)
        // The fitted model with one covariance made asymmetric.
        let asymmetric = dir.appendingPathComponent("asymmetric.json").path
        if !FileManager.default.fileExists(atPath: asymmetric) {
            var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model))) as? [String: Any])
            var parameters = try #require(object["gaussianMixture"] as? [String: Any])
            var covariances = try #require(parameters["covariances"] as? [[[Double]]])
            covariances[0][1][0] += 1
            parameters["covariances"] = covariances
            object["gaussianMixture"] = parameters
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: asymmetric))
        }
        // A Gaussian VAE whose stored log-variance would overflow when exponentiated.
        let extreme = dir.appendingPathComponent("extreme-variance.safetensors").path
        if !FileManager.default.fileExists(atPath: extreme) {
            let vae = dir.appendingPathComponent("vae-learned.safetensors").path
            let r = try CommandRunner.run(["fit", "vae", "--data", data, "--likelihood", "gaussian", "--latent", "1", "--hidden", "4",
                                           "--epochs", "1", "--output", vae, "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
            var (tensors, metadata) = try SafeTensors.decode(try Data(contentsOf: URL(fileURLWithPath: vae)), source: vae)
            var logVariance = try #require(tensors["logVariance"])
            logVariance = SafeTensors.Tensor(shape: logVariance.shape, values: logVariance.values.map { _ in -100 })
            tensors["logVariance"] = logVariance
            try SafeTensors.encode(tensors, metadata: metadata).write(to: URL(fileURLWithPath: extreme))
        }
        return (data, model, [data: try Data(contentsOf: URL(fileURLWithPath: data)), model: try Data(contentsOf: URL(fileURLWithPath: model))])
    }

    @Test(arguments: refusals) func refusedBeforeAnyWorkAndNothingChanges(_ refusal: Refusal) throws {
        let (data, model, bytes) = try prepare()
        let arguments = refusal.arguments.map {
            $0.replacingOccurrences(of: "$data", with: data).replacingOccurrences(of: "$model", with: model)
                .replacingOccurrences(of: "$dir", with: dir.path)
        }
        let r = try CommandRunner.run(arguments)
        #expect(r.status != 0)
        for word in refusal.message { #expect(r.standardError.contains(word), "\(refusal): \(r.standardError)") }
        for (path, content) in bytes { #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content, "\(path) changed") }
    }

    @Test func skippedColumnsAreJSONWarnings() throws {
        let model = dir.appendingPathComponent("iris.json").path
        let r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("iris.csv"), "--components", "2", "--output", model, "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let warnings = try #require(object["warnings"] as? [String])
        #expect(warnings.contains { $0.contains("skipped column(s) without numbers: species") }, "\(warnings)")
    }

    @Test func perRowOutputIsWrittenInBlocksWithEveryRow() throws {
        let (data, model, _) = try prepare()
        // 20 copies of the 272 rows: 5,440 rows, more than one output block.
        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        let big = dir.appendingPathComponent("faithful20.csv").path
        try ([String(lines[0])] + Array(repeating: lines.dropFirst().map(String.init), count: 20).flatMap { $0 })
            .joined(separator: "\n").appending("\n").write(toFile: big, atomically: true, encoding: .utf8)
        let r = try CommandRunner.run(["score", "--model", model, "--data", big])
        #expect(r.status == 0, "\(r.standardError)")
        let scores = r.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(scores.count == 1 + 5_440)
        #expect(scores.first == "logLikelihood")
        for i in [1, 4_096, 4_097, 5_440] { #expect(scores[i] == scores[(i - 1) % 272 + 1], "row \(i)") }
    }

    @Test func aSymbolicLinkIsWrittenThroughAndStaysALink() throws {
        let (data, _, _) = try prepare()
        let target = dir.appendingPathComponent("target.json").path, link = dir.appendingPathComponent("link.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.json")
        let r = try CommandRunner.run(["fit", "gmm", "--data", data, "--components", "2", "--output", link, "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "target.json")
        #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: target))) is [String: Any])
    }

    @Test func imputeKeepsAByteOrderMark() throws {
        let (_, model, _) = try prepare()
        let input = dir.appendingPathComponent("bom.csv").path, output = dir.appendingPathComponent("bom-out.csv").path
        let body = "eruptions,waiting\n3.6,79\n1.8,NA\n"
        try Data([0xEF, 0xBB, 0xBF] + Array(body.utf8)).write(to: URL(fileURLWithPath: input))
        let r = try CommandRunner.run(["impute", "--model", model, "--data", input, "--output", output])
        #expect(r.status == 0, "\(r.standardError)")
        let written = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(written.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(String(decoding: written.dropFirst(3), as: UTF8.self).hasPrefix("eruptions,waiting\n3.6,79\n1.8,"))
    }

    @Test func aCharacterDeviceIsWrittenNotReplaced() throws {
        let (data, _, _) = try prepare()
        let r = try CommandRunner.run(["fit", "gmm", "--data", data, "--components", "2", "--output", "/dev/null", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let attributes = try FileManager.default.attributesOfItem(atPath: "/dev/null")
        #expect(attributes[.type] as? FileAttributeType == .typeCharacterSpecial)
    }

    @Test func writesLeaveNoTemporaryFilesAndRemoveStaleOnes() throws {
        let (data, _, _) = try prepare()
        let output = dir.appendingPathComponent("clean.json").path
        // A temporary file left by a process that no longer runs (PIDs stay below 2^22 on Linux).
        let stale = dir.appendingPathComponent(".clean.json.4194304.tmp").path
        try Data("partial".utf8).write(to: URL(fileURLWithPath: stale))
        let r = try CommandRunner.run(["fit", "gmm", "--data", data, "--components", "2", "--output", output, "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }
}

/// Data columns are matched to a model's by name.
@Suite(.serialized) struct ColumnsByNameCLITests {
    let dir = TestData.temporaryDirectory()

    @Test func reorderedColumnsScoreTheSameAndRenamedOnesAreRefused() throws {
        let model = dir.appendingPathComponent("m.json").path
        let fit = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "2", "--output", model, "--quiet"])
        #expect(fit.status == 0, "\(fit.standardError)")
        let lines = try String(contentsOfFile: TestData.path("faithful.csv"), encoding: .utf8).split(separator: "\n")
        func write(_ name: String, header: String, swap: Bool) throws -> String {
            let rows = lines.dropFirst().map { line -> String in
                let f = line.split(separator: ",")
                return swap ? "\(f[1]),\(f[0])" : String(line)
            }
            let path = dir.appendingPathComponent(name).path
            try ([header] + rows).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func meanLogLikelihood(_ arguments: [String]) throws -> Double? {
            let r = try CommandRunner.run(["score", "--model", model, "--json"] + arguments)
            guard r.status == 0 else { return nil }
            return (try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])?["meanLogLikelihood"] as? Double
        }
        let original = try #require(try meanLogLikelihood(["--data", TestData.path("faithful.csv")]))
        let swapped = try write("swapped.csv", header: "waiting,eruptions", swap: true)
        #expect(try meanLogLikelihood(["--data", swapped]) == original)
        let renamed = try write("renamed.csv", header: "a,b", swap: false)
        let refused = try CommandRunner.run(["score", "--model", model, "--data", renamed])
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("lacks 'eruptions', 'waiting'") && refused.standardError.contains("--columns"), "\(refused.standardError)")
        // Naming the columns maps them in the order given.
        #expect(try meanLogLikelihood(["--data", renamed, "--columns", "a,b"]) == original)
        let predict = try CommandRunner.run(["predict", "--model", model, "--data", renamed])
        #expect(predict.status != 0)
    }

    @Test func aColumnNamedTwiceIsRefused() throws {
        let r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--columns", "waiting,waiting",
                                       "--components", "2", "--output", dir.appendingPathComponent("x.json").path])
        #expect(r.status != 0)
        #expect(r.standardError.contains("names 'waiting' twice"), "\(r.standardError)")
    }
}

/// `sample` streams its output in blocks: any count runs in bounded memory, and the points are
/// those the library draws in one call.
@Suite struct StreamingSampleCLITests {
    @Test func blocksGiveTheLibrarysDraws() throws {
        let dir = TestData.temporaryDirectory()
        let model = dir.appendingPathComponent("m.json").path
        let fit = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "2", "--output", model, "--quiet"])
        #expect(fit.status == 0)
        let r = try CommandRunner.run(["sample", "--model", model, "--count", "10000", "--seed", "4"])
        #expect(r.status == 0)
        let lines = r.standardOutput.split(separator: "\n")
        #expect(lines.count == 10_001 && lines[0] == "eruptions,waiting,component")
        let gmm = try #require({ if case .gaussianMixture(let m) = try ModelFile.read(path: model).model { return m } else { return nil } }())
        var rng = Xoshiro256StarStar(seed: 4)
        let (points, components) = gmm.sample(count: 10_000, using: &rng)
        for i in [0, 4095, 4096, 9999] {
            let fields = lines[i + 1].split(separator: ",").map { Double($0)! }
            #expect(fields == [points[i, 0], points[i, 1], Double(components[i])], "row \(i)")
        }
    }
}
