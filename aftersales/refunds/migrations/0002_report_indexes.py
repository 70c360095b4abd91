from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_locale'), ('orders', '0001_initial'), ('orders', '0002_sync_records'), ('refunds', '0001_refunds')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Refund',
            name='disputed',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Refund',
            index=Index(fields=['decided_at']),
        ),
        ops.AddIndex(
            model_name='Refund',
            index=Index(fields=['refunded_at']),
        ),
    ]
