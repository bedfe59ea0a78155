import { Module } from '@nestjs/common';
import { LeaderModule } from '../leader/leader.module';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [LeaderModule],
  controllers: [OrdersController],
  providers: [OrdersService],
})
export class OrdersModule {}
