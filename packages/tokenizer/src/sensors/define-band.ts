import type { BandSpec } from '../types.js';

// Small constructors that keep the built-in sensor tables readable: one line
// per band, numbers in the order docs/sensors.md lists them (centre nm, width nm, GSD m).

export interface BandExtras {
  aliases?: string[];
  commonName?: string;
  description?: string;
}

/** The BandSpec fields of the extras: aliases (default none), and commonName / description only when given. */
function extraFields(extras: BandExtras): Pick<BandSpec, 'aliases' | 'commonName' | 'description'> {
  return {
    aliases: extras.aliases ?? [],
    ...(extras.commonName !== undefined ? { commonName: extras.commonName } : {}),
    ...(extras.description !== undefined ? { description: extras.description } : {}),
  };
}

/** A band with a spectral response: centre wavelength and full width, both in nanometres. */
export function spectralBand(name: string, wavelengthNm: number, bandwidthNm: number, gsdM: number, extras: BandExtras = {}): BandSpec {
  return {
    kind: 'spectral',
    name,
    wavelengthNm,
    bandwidthNm,
    gsdM,
    ...extraFields(extras),
  };
}

/**
 * A band without a wavelength (SAR polarisation, elevation ...). The model
 * gives each channel kind a learned vector in place of the spectral encoding
 * (docs/model.md section 2.5), so no made-up wavelength is ever stored.
 */
export function channelBand(name: string, channelKind: string, gsdM: number, extras: BandExtras = {}): BandSpec {
  return {
    kind: 'channel',
    name,
    channelKind,
    gsdM,
    ...extraFields(extras),
  };
}
