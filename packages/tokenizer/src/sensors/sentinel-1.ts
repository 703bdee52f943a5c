import type { Sensor } from '../types.js';
import { channelBand } from './define-band.js';

// Sentinel-1 C-SAR (ESA), IW GRD high resolution: 10 m pixel spacing (about
// 20 x 22 m resolution), dual polarisation VV+VH or HH+HV. Source: docs/sensors.md.
// SAR channels have no spectral band (5.405 GHz is not an optical wavelength):
// they are channel bands whose kind keys a learned vector (docs/model.md section 2.5).

export const SENTINEL_1: Sensor = {
  id: 'sentinel-1',
  name: 'Sentinel-1 C-SAR (IW GRD)',
  aliases: ['s1', 'sentinel1', 'sentinel-1a', 'sentinel-1b', 'sentinel-1c', 's1a', 's1b', 's1c', 'sentinel-1-csar'],
  bands: [
    channelBand('VV', 'sar-vv', 10, { aliases: ['sar-vv'], description: 'vertical transmit, vertical receive' }),
    channelBand('VH', 'sar-vh', 10, { aliases: ['sar-vh'], description: 'vertical transmit, horizontal receive' }),
    channelBand('HH', 'sar-hh', 10, { aliases: ['sar-hh'], description: 'horizontal transmit, horizontal receive' }),
    channelBand('HV', 'sar-hv', 10, { aliases: ['sar-hv'], description: 'horizontal transmit, vertical receive' }),
  ],
  groups: {
    'dual-vv': ['VV', 'VH'],
    'dual-hh': ['HH', 'HV'],
    'co-pol': ['VV', 'HH'],
    'cross-pol': ['VH', 'HV'],
    all: ['VV', 'VH', 'HH', 'HV'],
  },
  source: 'ESA Sentinel-1 C-SAR user guide, IW GRD high resolution (via docs/sensors.md)',
};
