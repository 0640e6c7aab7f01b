/** Training-time augmentation of one image sample [C, H, W]. */
import { Rng } from '../util/random.js';

/**
 * Random crop and horizontal flip, as torchvision's RandomCrop(size, padding=pad) followed by
 * RandomHorizontalFlip(): the image is padded by `pad` pixels on each side with `padValues[c]`
 * (channel c), a height×width window is taken at a uniformly random offset in 0..2·pad (rows and
 * columns), and mirrored left–right with probability 1/2. A pure function of `key`.
 */
export function cropAndFlip(src: Float32Array, dst: Float32Array, channels: number, height: number, width: number, pad: number, key: number, padValues: ArrayLike<number>): void {
  const rng = new Rng(key);
  // source row / column of the window's top-left pixel (negative: in the padding)
  const top = rng.int(2 * pad + 1) - pad;
  const left = rng.int(2 * pad + 1) - pad;
  const flip = rng.int(2) === 1;
  for (let c = 0; c < channels; c++) {
    const fill = padValues[c]!;
    const plane = c * height * width;
    for (let y = 0; y < height; y++) {
      const row = plane + y * width;
      const sy = y + top;
      if (sy < 0 || sy >= height) {
        dst.fill(fill, row, row + width);
        continue;
      }
      const srcRow = plane + sy * width;
      for (let x = 0; x < width; x++) {
        const sx = (flip ? width - 1 - x : x) + left;
        dst[row + x] = sx >= 0 && sx < width ? src[srcRow + sx]! : fill;
      }
    }
  }
}
