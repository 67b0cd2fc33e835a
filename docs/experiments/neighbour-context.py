#!/usr/bin/python3
"""Does spatial context help a linear probe on Berlin and Potsdam at all? (README, "Downstream"; issue 20)

A control with no learning in it: each pixel's spectrum alone, against the spectrum beside the mean spectrum of its
3×3 or 5×5 neighbourhood (centre left out). Same splits as `karma probe`: random (5% of each class, at least one pixel)
and spatial (20 pixels per class from each image's top half train, every bottom-half pixel tests); seeds 0, 1, 2.
Multinomial logistic regression on standardised features, L2 penalty 1e-2, fitted by L-BFGS (scipy): a different
fitter from Karma's probe, so its raw-spectra numbers differ from the README table's by a few points.
Needs Debian's python3-numpy, python3-scipy and python3-gdal. Usage: docs/experiments/neighbour-context.py [berlin|potsdam]
"""
import glob
import os
import sys

import numpy as np
from osgeo import gdal
from scipy.ndimage import uniform_filter
from scipy.optimize import minimize


def read(path):
    return gdal.Open(path).ReadAsArray().astype(np.float64)


def fit(x, y, k, l2=1e-2):
    n, f = x.shape
    onehot = np.eye(k)[y]

    def loss(w):
        weights, bias = w[:f * k].reshape(f, k), w[f * k:]
        z = x @ weights + bias
        z -= z.max(1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / n
        value = -np.sum(onehot * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(weights * weights)
        return value, np.concatenate([(x.T @ g + l2 * weights).ravel(), g.sum(0)])

    w = minimize(loss, np.zeros(f * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    weights, bias = w[:f * k].reshape(f, k), w[f * k:]
    return lambda t: (t @ weights + bias).argmax(1)


def neighbour_mean(cube, size):
    """Mean spectrum of each pixel's size×size window without the pixel itself (edges repeat the border)."""
    total = np.stack([uniform_filter(band, size, mode="nearest") for band in cube]) * size * size
    return (total - cube) / (size * size - 1)


def evaluate(cubes, labels, name, seeds=(0, 1, 2)):
    recipes = {"spectrum": lambda c: c,
               "spectrum+3x3": lambda c: np.concatenate([c, neighbour_mean(c, 3)]),
               "spectrum+5x5": lambda c: np.concatenate([c, neighbour_mean(c, 5)])}
    features = {}
    for key, recipe in recipes.items():
        xs, ys, rows, heights = [], [], [], []
        for cube, label in zip(cubes, labels):
            f = recipe(cube)
            bands, height, width = f.shape
            labelled = label > 0
            xs.append(f.reshape(bands, -1).T[labelled.ravel()])
            ys.append(label[labelled])
            rows.append(np.repeat(np.arange(height), width).reshape(height, width)[labelled])
            heights.append(np.full(labelled.sum(), height))
        features[key] = np.concatenate(xs)
        y, row, height = np.concatenate(ys), np.concatenate(rows), np.concatenate(heights)
    classes = np.unique(y)
    k = len(classes)
    index = np.searchsorted(classes, y)
    for split in ("random", "spatial"):
        scores = {key: [] for key in features}
        for seed in seeds:
            rng = np.random.default_rng(seed)
            train = np.zeros(len(y), bool)
            top = row < height / 2
            for c in range(k):
                pool = np.flatnonzero(index == c) if split == "random" else np.flatnonzero((index == c) & top)
                take = max(1, int(round(0.05 * len(pool)))) if split == "random" else min(20, len(pool))
                if len(pool):
                    train[rng.choice(pool, take, replace=False)] = True
            test = ~train if split == "random" else ~top
            for key, x in features.items():
                mean, std = x[train].mean(0), x[train].std(0) + 1e-9
                predicted = fit((x[train] - mean) / std, index[train], k)((x[test] - mean) / std)
                scores[key].append(100 * np.mean(predicted == index[test]))
        print(name, split, "  ".join(f"{key} {np.mean(v):.1f} ± {np.std(v):.1f}" for key, v in scores.items()), flush=True)


here = os.path.dirname(os.path.abspath(__file__))
data = os.environ.get("SHARED", os.path.join(here, "..", "..", "..", "shared")) + "/data"
which = sys.argv[1:] or ["berlin", "potsdam"]
if "berlin" in which:
    b = data + "/enmap_berlin_urban_gradient"
    evaluate([read(b + "/EnMAP_BerlinUrbanGradient.bsq")], [read(b + "/landcover_level2_60x80.tif").astype(int)], "berlin")
if "potsdam" in which:
    images = sorted(glob.glob(data + "/enmap_potsdam/images/*.tif"))
    labels = sorted(glob.glob(data + "/enmap_potsdam/labels/*.tif"))
    evaluate([read(p) for p in images], [read(p).astype(int) for p in labels], "potsdam")
