/**
 * Tests that need something from the system, provided in CI by a Debian package (python3-onnx,
 * tmux, chromium, redis-server, dataset-fashion-mnist). Without it such a test is skipped, and says why in its title;
 * with BITCYCLE_SYSTEM_TESTS=1 (set by .ci/run after installing the packages) it runs and fails
 * instead, naming the package to install.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { it, type TestFunction } from 'vitest';
import { FASHION_DEFAULT_DIR } from '../../src/data/fashion.js';

/** Set by `.ci/run`: a missing requirement fails its tests instead of skipping them. */
export const SYSTEM_TESTS_ENFORCED = process.env.BITCYCLE_SYSTEM_TESTS === '1';

export interface SystemRequirement {
  /** What the test needs, e.g. "tmux". */
  readonly what: string;
  /** The Debian package that provides it. */
  readonly debianPackage: string;
  /** Null when available, otherwise why not (e.g. "tmux not found on PATH"). Checked once per file. */
  missing(): string | null;
}

function requirement(what: string, debianPackage: string, check: () => string | null): SystemRequirement {
  let cached: string | null | undefined;
  return {
    what,
    debianPackage,
    missing: () => (cached === undefined ? (cached = check()) : cached),
  };
}

/** Every executable called `name` on PATH, in PATH order, without duplicates (e.g. /bin → /usr/bin). */
function onPath(name: string): string[] {
  const found = new Map<string, string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      const real = realpathSync(file);
      if (!found.has(real)) found.set(real, file);
    } catch {
      // not here
    }
  }
  return [...found.values()];
}

let python: string | null | undefined;
/**
 * The first python3 on PATH that can `import onnx`. Every python3 on PATH is tried, not just the
 * first: a pyenv shim usually comes before /usr/bin/python3, where Debian's python3-onnx lives.
 */
export function pythonWithOnnx(): string | null {
  if (python === undefined) {
    python = onPath('python3').find((py) => spawnSync(py, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0) ?? null;
  }
  return python;
}

export const PYTHON_ONNX = requirement('python3 with the onnx package', 'python3-onnx', () =>
  pythonWithOnnx() ? null : 'no python3 on PATH can import onnx',
);

export const TMUX = requirement('tmux', 'tmux', () =>
  spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0 ? null : 'tmux not found on PATH',
);

/** Headless Chromium (the browser test of the HTML report), run as `chromium` from PATH. */
export const CHROMIUM = requirement('chromium', 'chromium', () =>
  spawnSync('chromium', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0 ? null : 'chromium not found on PATH',
);

export const REDIS = requirement('redis-server', 'redis-server', () =>
  spawnSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0 ? null : 'redis-server not found on PATH',
);

export const FASHION_MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

export const FASHION_MNIST = requirement(`Fashion-MNIST in ${FASHION_DEFAULT_DIR}`, 'dataset-fashion-mnist', () => {
  const absent = FASHION_MNIST_FILES.filter((f) => !existsSync(join(FASHION_DEFAULT_DIR, `${f}.gz`)) && !existsSync(join(FASHION_DEFAULT_DIR, f)));
  return absent.length === 0 ? null : `${absent.length === FASHION_MNIST_FILES.length ? 'no Fashion-MNIST' : `${absent.join(', ')} missing`} in ${FASHION_DEFAULT_DIR}`;
});

/**
 * `it(name, fn, timeout)` for a test that needs `req`: runs it when available; otherwise skips it
 * with the reason in its title and on stderr, or, under BITCYCLE_SYSTEM_TESTS=1, fails it naming the package.
 */
export function systemIt(req: SystemRequirement, name: string, fn: TestFunction, timeout?: number): void {
  const missing = req.missing();
  if (missing === null) {
    it(name, fn, timeout);
  } else if (SYSTEM_TESTS_ENFORCED) {
    it(name, () => {
      throw new Error(`needs ${req.what}: apt-get install ${req.debianPackage} (${missing}; BITCYCLE_SYSTEM_TESTS=1 makes this a failure instead of a skip)`);
    });
  } else {
    const reason = `skipped: ${missing}; apt-get install ${req.debianPackage}, enforced by BITCYCLE_SYSTEM_TESTS=1`;
    // The default reporter does not list skipped tests by name: say it on stderr as well.
    console.warn(`"${name}" ${reason}`);
    it.skip(`${name} (${reason})`, fn);
  }
}
