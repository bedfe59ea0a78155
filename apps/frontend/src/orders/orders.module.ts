import { Module } from '@nestjs/common';
import { LeaderModule } from '../leader/leader.module';
import { StocksModule } from '../stocks/stocks.module';
import { OrdersController } from './orders.controller';
import { OrdersService } from './orders.service';

@Module({
  imports: [LeaderModule, StocksModule],
  controllers: [OrdersController],
  providers: [OrdersService],
})
export class OrdersModule {}
