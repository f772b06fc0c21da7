/**
 * torchvision's AlexNet IMAGENET1K_V1 checkpoint. The SHA-256 is the full hash of the file at the
 * URL (244,408,911 bytes); torch.hub checks only its first 8 hex digits, which are in the name.
 */
export const OFFICIAL_ALEXNET_CHECKPOINT = {
  url: 'https://download.pytorch.org/models/alexnet-owt-7be5be79.pth',
  sha256: '7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02',
  bytes: 244_408_911,
  /** What the converted model's metadata says of its weights. */
  weights: 'torchvision:IMAGENET1K_V1',
} as const;

/** The hash prefix in a torch.hub-style file name (`name-<hex>.pth`), if it has one. */
export function hashPrefixInName(fileName: string): string | undefined {
  return /-([0-9a-f]{8,64})\.pth?$/i.exec(fileName)?.[1]?.toLowerCase();
}
