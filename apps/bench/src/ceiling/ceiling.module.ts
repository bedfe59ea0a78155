import { Module } from '@nestjs/common';
import { CeilingController } from './ceiling.controller';

@Module({ controllers: [CeilingController] })
export class CeilingModule {}
