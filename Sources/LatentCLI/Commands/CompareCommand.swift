import ArgumentParser
import Foundation
import Latent

/// `latent compare`: several model families fitted to the same training data and ranked by the
/// log-likelihood of held-out data.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Fit several models to --train and rank them by the mean log-likelihood of --test.",
        discussion: """
        Each SPEC is family:key=value;key=value, the keys being the options of `latent fit FAMILY` without \
        their dashes (a key without a value is a flag): gmm:components=3;covariance=full, fa:factors=2, \
        ppca:factors=2, bayesian-gmm:components=10, vae:latent=2;epochs=50, rbm:hidden=64;binarize, \
        dbn:layers=64,16 (a list value keeps its commas: a comma starts a new SPEC only before `family:`). Every model is fitted and scored exactly as `latent fit` and `latent score` \
        would with the same settings (they run in this process), with the family's best estimator: exact for \
        mixtures and factor models, IWAE-100 for VAEs, exact or AIS for RBMs, the variational lower bound for \
        DBNs. A family that cannot model the data (a Bernoulli RBM on non-binary data, say) is skipped with \
        the reason. Sequence models (hmm, lds) score sequences, not rows, and are not compared here.
        """
    )

    @Option(name: .long, help: "Training data (CSV, .npy or IDX).")
    var train: String
    @Option(name: .long, help: "Held-out data with the same columns.")
    var test: String?
    @Option(name: .long, parsing: .unconditional, help: "Without --test: hold out this fraction of --train's rows, drawn with --seed; both parts are written in --train's format (CSV, .npy or IDX) to a temporary folder.")
    var holdout: Double?
    @Option(name: .long, help: "Comma-separated column names to use (default: every numeric column).")
    var columns: String?
    @Option(name: .long, help: "Models to compare: SPEC[,SPEC…] (see the discussion).")
    var models: String
    @Option(name: .long, help: "Seed of every fit and estimator.")
    var seed: UInt64 = 0
    @Option(name: .long, help: "Also write the table as a self-contained HTML page.")
    var output: String?
    @OptionGroup var outputOptions: OutputOptions

    static let families: Set<String> = ["gmm", "fa", "ppca", "bayesian-gmm", "vae", "rbm", "dbn"]

    /// `gmm:components=3;covariance=full,fa:factors=2` → [(family, [(key, value?)])]. A comma starts
    /// a new SPEC only when what follows it is `name:` (so `dbn:layers=64,16` keeps its list).
    static func parseSpecs(_ text: String) throws -> [(spec: String, family: String, settings: [(String, String?)])] {
        var specs: [String] = []
        for piece in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            let head = piece.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            let startsSpec = piece.contains(":") && !head.contains("=") && !head.contains(";")
            if startsSpec || specs.isEmpty {
                specs.append(piece)
            } else {
                specs[specs.count - 1] += "," + piece
            }
        }
        return try specs.map { spec in
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            let family = parts.first?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !family.isEmpty else { throw ValidationError("--models: an empty model SPEC in '\(text)'") }
            let settings: [(String, String?)] = (parts.count > 1 ? parts[1] : "").split(separator: ";").map { item in
                let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                return (kv[0], kv.count > 1 ? kv[1] : nil)
            }
            for (key, _) in settings where key.isEmpty || key.hasPrefix("-") {
                throw ValidationError("--models '\(spec)': give settings as key=value without dashes, separated by ';'")
            }
            for (key, _) in settings where reservedKeys.contains(key) {
                throw ValidationError("--models '\(spec)': '\(key)' is set by compare itself (use --train, --test, --columns, --seed)")
            }
            return (spec, family, settings)
        }
    }

    func validate() throws {
        let specs = try Self.parseSpecs(models)
        guard !specs.isEmpty else { throw ValidationError("--models needs at least one SPEC") }
        guard (test == nil) != (holdout == nil) else { throw ValidationError("give either --test (a held-out file) or --holdout (a fraction of --train), not both or neither") }
        if let holdout, !(holdout > 0 && holdout < 1) { throw ValidationError("--holdout must lie strictly between 0 and 1") }
        if let output { try Console.checkOutput(output, inputs: [("training data", train), ("test data", test)]) }
    }

    /// One compared model.
    struct Row {
        var spec: String, family: String, estimator: String
        /// VAEs: the arithmetic of the decoder's output layer when scored (`fp32` or `bf16`).
        var precision: String? = nil
        var testMean: Double, standardError: Double, trainMean: Double, parameters: Int, bic: Double, fitSeconds: Double
        var nTrain: Int, nTest: Int
    }

    /// Runs `latent ARGS` in this process and returns its standard output.
    static func run(_ arguments: [String]) throws -> String {
        try Console.capturingOutput {
            var command = try LatentCommand.parseAsRoot(arguments)
            try command.run()
        }
    }

    /// A command's `--json` object, every number a `Double` read exactly. (JSONDecoder reads them
    /// exactly; Foundation's JSONSerialization on Linux misread about 40% of random 17-digit doubles
    /// by an ulp or two, so the table's figures differed from `latent score`'s.)
    static func object(_ text: String) throws -> [String: Any] {
        guard let o = (try? JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)))?.value as? [String: Any] else {
            throw CommandLineError(description: "a command printed no JSON object")
        }
        return o
    }

    /// A whole number of a command's JSON object (numbers are read as `Double`).
    static func integer(_ value: Any?) -> Int? { (value as? Double).flatMap { Int(exactly: $0) } }

    /// Any JSON value: objects as `[String: Any]`, arrays as `[Any]`, numbers as `Double`, null as `NSNull`.
    struct AnyJSON: Decodable {
        let value: Any
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { value = NSNull() }
            else if let b = try? c.decode(Bool.self) { value = b }
            else if let d = try? c.decode(Double.self) { value = d }
            else if let s = try? c.decode(String.self) { value = s }
            else if let a = try? c.decode([AnyJSON].self) { value = a.map(\.value) }
            else { value = try c.decode([String: AnyJSON].self).mapValues(\.value) }
        }
    }

    /// The standard error of the mean of a per-row CSV of one column with a header.
    static func standardError(_ csv: String) -> Double {
        let values = csv.split(separator: "\n").dropFirst().compactMap { Double($0) }
        let n = Double(values.count), mean = values.reduce(0, +) / max(1, n)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, n - 1)
        return (variance / max(1, n)).squareRoot()
    }

    /// Options compare sets itself; a SPEC may not override them.
    static let reservedKeys: Set<String> = ["data", "output", "json", "quiet", "columns", "seed"]

    /// Splits `path` into training and held-out rows (a `fraction` of them, drawn with `seed`), each
    /// part in the file's own format so that every family reads it as it reads the original.
    static func split(_ path: String, fraction: Double, seed: UInt64, into directory: URL) throws -> (train: String, test: String) {
        let lower = path.lowercased()
        var rng = Xoshiro256StarStar(seed: seed)
        func parts(_ n: Int) throws -> (train: [Int], test: [Int]) {
            guard n >= 2 else { throw ValidationError("--holdout: \(path) has \(n) row(s); at least 2 are needed") }
            let held = Set((0..<n).shuffled(using: &rng).prefix(min(n - 1, max(1, Int((fraction * Double(n)).rounded())))))
            return ((0..<n).filter { !held.contains($0) }, (0..<n).filter { held.contains($0) })
        }
        let trainPath = directory.appendingPathComponent("train").path, testPath = directory.appendingPathComponent("test").path
        if lower.hasSuffix(".csv") {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            if !text.contains("\"") {
                // Lines as they are, so that every cell (and missing value) reads back the same.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                guard let header = lines.first else { throw DataError.emptyFile(path: path) }
                let rows = Array(lines.dropFirst()), (a, b) = try parts(rows.count)
                try AtomicFile.write(([header] + a.map { rows[$0] }).joined(separator: "\n") + "\n", to: trainPath + ".csv")
                try AtomicFile.write(([header] + b.map { rows[$0] }).joined(separator: "\n") + "\n", to: testPath + ".csv")
            } else {
                let table = try DataLoader.load(path: path).table, (a, b) = try parts(table.values.rows)
                try AtomicFile.write(CSV.render(header: table.columnNames, rows: table.values.selectingRows(a)), to: trainPath + ".csv")
                try AtomicFile.write(CSV.render(header: table.columnNames, rows: table.values.selectingRows(b)), to: testPath + ".csv")
            }
            return (trainPath + ".csv", testPath + ".csv")
        }
        if lower.hasSuffix(".npy") {
            let x = try NumPy.read(path: path), (a, b) = try parts(x.rows)
            try NumPy.write(x.selectingRows(a), to: trainPath + ".npy")
            try NumPy.write(x.selectingRows(b), to: testPath + ".npy")
            return (trainPath + ".npy", testPath + ".npy")
        }
        // IDX: the same header with the first dimension replaced, and the rows' bytes.
        let bytes = [UInt8](try FileBytes.read(path))
        let x = try IDX.decode(Data(bytes), source: path)
        let (a, b) = try parts(x.rows)
        let dims = Int(bytes[3]), start = 4 + 4 * dims, width = x.columns
        func write(_ rows: [Int], to file: String) throws {
            var out = Array(bytes[0..<start])
            let n = UInt32(rows.count)
            out[4] = UInt8(n >> 24); out[5] = UInt8((n >> 16) & 255); out[6] = UInt8((n >> 8) & 255); out[7] = UInt8(n & 255)
            for r in rows { out += bytes[(start + r * width)..<(start + (r + 1) * width)] }
            try AtomicFile.write(Data(out), to: file)
        }
        try write(a, to: trainPath + ".idx")
        try write(b, to: testPath + ".idx")
        return (trainPath + ".idx", testPath + ".idx")
    }

    func compare(_ spec: (spec: String, family: String, settings: [(String, String?)]), train: String, test: String, directory: URL, index: Int) throws -> Row {
        guard Self.families.contains(spec.family) else {
            if ["hmm", "lds"].contains(spec.family) {
                throw CommandLineError(description: "\(spec.family) models score sequences, not independent rows")
            }
            throw CommandLineError(description: "unknown family '\(spec.family)' (compare takes \(Self.families.sorted().joined(separator: ", ")))")
        }
        let model = directory.appendingPathComponent("model-\(index)").path
        let columnArguments = columns.map { ["--columns", $0] } ?? []
        var fit = ["fit", spec.family, "--data", train, "--output", model, "--json", "--quiet", "--seed", String(seed)] + columnArguments
        for (key, value) in spec.settings { fit += ["--\(key)"] + (value.map { [$0] } ?? []) }
        let fitted = try Self.object(Self.run(fit))
        func score(_ data: String) throws -> (o: [String: Any], mean: Double, standardError: Double) {
            let arguments = ["score", "--model", model, "--data", data, "--seed", String(seed)] + columnArguments
            let o = try Self.object(Self.run(arguments + ["--json"]))
            guard let mean = o["meanLogLikelihood"] as? Double else { throw CommandLineError(description: "scoring \(data) gave no mean log-likelihood") }
            if let se = o["standardError"] as? Double { return (o, mean, se) }
            return (o, mean, Self.standardError(try Self.run(arguments)))
        }
        let tested = try score(test), trained = try score(train)
        let parameters = Self.integer(tested.o["parameters"]) ?? 0, nTrain = Self.integer(trained.o["n"]) ?? 0
        let estimator = (tested.o["estimator"] as? String) ?? "exact"
        return Row(spec: spec.spec, family: spec.family, estimator: estimator == "iwae" ? "iwae-\(Self.integer(tested.o["samples"]) ?? 0)" : estimator,
                   precision: tested.o["precision"] as? String, testMean: tested.mean, standardError: tested.standardError, trainMean: trained.mean, parameters: parameters,
                   bic: GaussianMixture.bic(logLikelihood: trained.mean * Double(nTrain), parameters: parameters, count: nTrain),
                   fitSeconds: (fitted["seconds"] as? Double) ?? 0, nTrain: nTrain, nTest: Self.integer(tested.o["n"]) ?? 0)
    }

    func run() throws {
        let specs = try Self.parseSpecs(models)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("latent-compare-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var rows: [Row] = [], skipped: [(String, String)] = []
        let (trainPath, testPath) = try holdout.map { try Self.split(train, fraction: $0, seed: seed, into: directory) } ?? (train, test!)
        for (i, spec) in specs.enumerated() {
            if !outputOptions.quiet { Console.note("compare: \(spec.spec)") }
            do {
                rows.append(try compare(spec, train: trainPath, test: testPath, directory: directory, index: i))
            } catch {
                var reason = "\(error)".trimmingCharacters(in: .whitespacesAndNewlines)
                if holdout != nil {   // name the user's file, not the temporary parts
                    reason = reason.replacingOccurrences(of: trainPath, with: "\(train) (training part)")
                        .replacingOccurrences(of: testPath, with: "\(train) (held-out part)")
                }
                skipped.append((spec.spec, reason))
                if !outputOptions.quiet { Console.warn("compare: \(spec.spec) skipped: \(reason)") }
            }
        }
        rows.sort { $0.testMean > $1.testMean }
        let nTrain = rows.first?.nTrain ?? 0, nTest = rows.first?.nTest ?? 0
        let testName = test ?? "\(Int((holdout ?? 0) * 100))% of \(train) held out (seed \(seed))"
        if let output { try AtomicFile.write(Data(Self.html(rows, skipped: skipped, train: train, test: testName).utf8), to: output) }
        if outputOptions.json {
            var o = JSONObject()
            o["models"] = .array(rows.map { r in
                var m = JSONObject()
                m["spec"] = .string(r.spec)
                m["family"] = .string(r.family)
                m["estimator"] = .string(r.estimator)
                if let precision = r.precision { m["precision"] = .string(precision) }
                m["testMeanLogLikelihood"] = .number(r.testMean)
                m["standardError"] = .number(r.standardError)
                m["trainMeanLogLikelihood"] = .number(r.trainMean)
                m["parameters"] = .integer(r.parameters)
                m["bic"] = .number(r.bic)
                m["fitSeconds"] = .number(r.fitSeconds)
                return .object(m)
            })
            var n = JSONObject()
            n["train"] = .integer(nTrain)
            n["test"] = .integer(nTest)
            o["n"] = .object(n)
            o["skipped"] = .array(skipped.map { s in
                var m = JSONObject()
                m["spec"] = .string(s.0)
                m["reason"] = .string(s.1)
                return .object(m)
            })
            if let output { o["output"] = .string(output) }
            Console.printJSON(o)
        } else {
            Console.print(Self.text(rows, skipped: skipped, nTrain: nTrain, nTest: nTest))
        }
    }

    static func text(_ rows: [Row], skipped: [(String, String)], nTrain: Int, nTest: Int) -> String {
        var out = "Held-out mean log-likelihood (nats per row; \(nTrain) training rows, \(nTest) test rows), best first\n"
        out += MixtureReport.pad("model", 36) + MixtureReport.pad("test", 14) + MixtureReport.pad("± se", 10) + MixtureReport.pad("train", 14)
            + MixtureReport.pad("BIC", 14) + MixtureReport.pad("parameters", 12) + MixtureReport.pad("fit s", 9) + "estimator\n"
        for r in rows {
            out += MixtureReport.pad(r.spec, 36) + MixtureReport.pad(Console.number(r.testMean, 6), 14)
                + MixtureReport.pad(Console.number(r.standardError, 3), 10) + MixtureReport.pad(Console.number(r.trainMean, 6), 14)
                + MixtureReport.pad(Console.number(r.bic, 7), 14) + MixtureReport.pad(String(r.parameters), 12)
                + MixtureReport.pad(Console.number(r.fitSeconds, 3), 9) + r.estimator + "\n"
        }
        for (spec, reason) in skipped { out += "skipped \(spec): \(reason)\n" }
        return out
    }

    /// A self-contained page (no scripts, fonts or network) with the same table, light and dark.
    static func html(_ rows: [Row], skipped: [(String, String)], train: String, test: String) -> String {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var body = "<table><thead><tr><th>model</th><th>test mean log p(x)</th><th>± se</th><th>train</th><th>BIC</th><th>parameters</th><th>fit s</th><th>estimator</th></tr></thead><tbody>\n"
        for r in rows {
            body += "<tr><td>\(escape(r.spec))</td><td>\(Console.number(r.testMean, 6))</td><td>\(Console.number(r.standardError, 3))</td><td>\(Console.number(r.trainMean, 6))</td><td>\(Console.number(r.bic, 7))</td><td>\(r.parameters)</td><td>\(Console.number(r.fitSeconds, 3))</td><td>\(escape(r.estimator))</td></tr>\n"
        }
        body += "</tbody></table>\n"
        for (spec, reason) in skipped { body += "<p class=\"skipped\">skipped \(escape(spec)): \(escape(reason))</p>\n" }
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>latent compare</title>
        <style>
        :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
        body { margin: 1rem; max-width: 60rem; }
        table { border-collapse: collapse; width: 100%; overflow-x: auto; display: block; }
        th, td { padding: 0.3rem 0.6rem; text-align: right; border-bottom: 1px solid #8884; white-space: nowrap; }
        th:first-child, td:first-child { text-align: left; }
        .skipped { opacity: 0.7; }
        </style></head><body>
        <h1>Held-out log-likelihood</h1>
        <p>Trained on \(escape(train)), scored on \(escape(test)); best first. Nats per row.</p>
        \(body)</body></html>

        """
    }
}
