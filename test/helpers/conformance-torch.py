"""Runs every PyTorch export of the conformance matrix in one process (test/interop/conformance.test.ts).

Usage: python3 conformance-torch.py MANIFEST. MANIFEST is a JSON list of folders, each holding an
export (model.py, model.safetensors) and x.f32, the float32 input [n, *INPUT_SHAPE]. For each folder
this writes y.f32, the model's output in eval mode, or error.txt, why it could not, so that one
broken export fails its own case and not the whole matrix. Starting torch once rather than per
model is what keeps the matrix fast (about 2 s of imports, against some 400 models).
"""
import importlib.util
import json
import os
import sys
import traceback

import numpy as np
import torch


def run(folder, index):
    # Each export's model.py is its own module: the same name would return the first one imported.
    spec = importlib.util.spec_from_file_location(f'conformance_model_{index}', os.path.join(folder, 'model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load_model(folder)
    x = np.fromfile(os.path.join(folder, 'x.f32'), dtype='<f4')
    x = torch.from_numpy(x.reshape(-1, *module.INPUT_SHAPE).copy())
    with torch.no_grad():
        y = model(x)
    y.numpy().astype('<f4').tofile(os.path.join(folder, 'y.f32'))


def main():
    torch.set_num_threads(1)  # small models: threads cost more than they give, and CI's two cores are shared
    with open(sys.argv[1]) as f:
        folders = json.load(f)
    for index, folder in enumerate(folders):
        try:
            run(folder, index)
        except Exception:  # noqa: BLE001 - reported per case by the test
            with open(os.path.join(folder, 'error.txt'), 'w') as f:
                f.write(traceback.format_exc())


if __name__ == '__main__':
    main()
