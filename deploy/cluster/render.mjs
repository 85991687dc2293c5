#!/usr/bin/env node
// Writes deploy/cluster/nginx.conf: the shipped edge config (deploy/nginx-edge) in front of the two
// nodes of docker-compose.cluster.yml. A test checks the file is what this renders.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderEdgeConfig } from '../nginx-edge/render.mjs';

export const clusterEdgeConfig = () =>
  renderEdgeConfig({
    origin: ['stagedoor-a:8080', 'stagedoor-b:8080'],
    listen: 8088,
    dir: '/etc/nginx/stagedoor-edge',
    cache: '/var/cache/nginx/stagedoor',
    prelude:
      '# Rendered by deploy/cluster/render.mjs from deploy/nginx-edge/nginx.conf: edit those, then run it.\n',
  });

if (process.argv[1] === fileURLToPath(import.meta.url))
  writeFileSync(fileURLToPath(new URL('nginx.conf', import.meta.url)), clusterEdgeConfig());
