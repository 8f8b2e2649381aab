"""Loads a Latent VAE file into a PyTorch module with `load_state_dict` (strict) and checks that its
encoder means equal `latent transform`'s to 1e-5.

Trains a small Bernoulli VAE for one epoch on the bundled digits with the built `latent` tool
(.build/release/latent), reads the safetensors file with `safetensors.torch.load_file`, builds the
module from the architecture in the file's metadata (ModuleLists `encoder` and `decoder` of
`torch.nn.Linear`, a `logVariance` parameter for a learned decoder variance), and compares.

Usage: bench/.venv/bin/python bench/pytorch_interop.py   (needs torch and safetensors; exits 1 on a mismatch)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
LATENT = os.path.join(ROOT, ".build", "release", "latent")
DATA = os.path.join(ROOT, "Data", "mnist5k-train-images.idx3-ubyte")
ACTIVATIONS = {"identity": torch.nn.Identity, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
               "softplus": torch.nn.Softplus, "sigmoid": torch.nn.Sigmoid}


class LatentVAE(torch.nn.Module):
    """The module a Latent VAE file describes."""

    def __init__(self, tensors, description):
        super().__init__()

        def stack(prefix, activations):
            layers = torch.nn.ModuleList()
            for i in range(len(activations)):
                out_features, in_features = tensors[f"{prefix}.{i}.weight"].shape
                layers.append(torch.nn.Linear(in_features, out_features))
            return layers

        self.encoder_activations = [ACTIVATIONS[a]() for a in description["encoderActivations"]]
        self.decoder_activations = [ACTIVATIONS[a]() for a in description["decoderActivations"]]
        self.encoder = stack("encoder", description["encoderActivations"])
        self.decoder = stack("decoder", description["decoderActivations"])
        if "logVariance" in tensors:
            self.logVariance = torch.nn.Parameter(torch.zeros_like(tensors["logVariance"]))
        self.latent = description["latent"]

    def encode_mean(self, x):
        for layer, activation in zip(self.encoder, self.encoder_activations):
            x = activation(layer(x))
        return x[:, : self.latent]


def main():
    with tempfile.TemporaryDirectory() as work:
        model = os.path.join(work, "vae.safetensors")
        subprocess.run([LATENT, "fit", "vae", "--data", DATA, "--binarize", "--latent", "8", "--hidden", "64",
                        "--epochs", "1", "--seed", "1", "--output", model, "--quiet"], check=True)
        means = subprocess.run([LATENT, "transform", "--model", model, "--data", DATA], check=True,
                               capture_output=True, text=True).stdout.splitlines()
        latent_means = np.array([[float(v) for v in line.split(",")] for line in means[1:]], dtype=np.float64)
        with safe_open(model, framework="pt") as f:
            metadata = f.metadata()
        description = json.loads(metadata["latent"])
        tensors = load_file(model)
        module = LatentVAE(tensors, description)
        module.load_state_dict(tensors, strict=True)
        raw = np.fromfile(DATA, dtype=np.uint8, offset=16).reshape(-1, 784)
        x = torch.from_numpy((raw.astype(np.float32) / 255 > 0.5).astype(np.float32))
        with torch.no_grad():
            torch_means = module.encode_mean(x).double().numpy()
        gap = float(np.abs(torch_means - latent_means).max())
        print(f"file version {metadata['version']}; {len(tensors)} tensors loaded with load_state_dict(strict=True); "
              f"largest |PyTorch − latent transform| over {x.shape[0]} images × {module.latent} latents: {gap:.2e}")
        if gap > 1e-5:
            sys.exit(1)


if __name__ == "__main__":
    main()
