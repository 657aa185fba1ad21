package livewall.guard;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Closes a connection whose client sends more than {@code maxBytes} towards one STOMP frame. Artemis's STOMP decoder
 * keeps joining bytes until a frame is complete, across any number of WebSocket frames, so without this a client
 * could make the broker hold a frame of any size. The count starts again whenever the decoder has produced a frame
 * ({@link #frameDecoded}); heart-beats (line ends between frames) are not counted, so a page may stay for days.
 * Runs on the connection's event loop, as the decoder does.
 */
final class FrameSizeLimit extends ChannelInboundHandlerAdapter {
   static final String NAME = "livewall-frame-size-limit";

   private final int maxBytes;
   private final Runnable onRefused;
   private int pending;

   FrameSizeLimit(int maxBytes, Runnable onRefused) {
      this.maxBytes = maxBytes;
      this.onRefused = onRefused;
   }

   void frameDecoded() {
      pending = 0;
   }

   @Override
   public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf buffer) {
         for (int i = buffer.readerIndex(); i < buffer.writerIndex(); i++) {
            byte b = buffer.getByte(i);
            if (pending == 0 && (b == '\n' || b == '\r')) continue;
            if (++pending > maxBytes) {
               buffer.release();
               onRefused.run();
               ctx.close();
               return;
            }
         }
      }
      ctx.fireChannelRead(msg);
   }
}
