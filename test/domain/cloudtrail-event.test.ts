/**
 * parseDeployEvent: EventBridge envelopes and bare CloudTrail records of Lambda deploy calls become DeployCalls;
 * everything else becomes a reason with an explanation that names the field, and nothing ever throws.
 */
import { classifyFailure } from '../../lambda/domain/classify';
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import type { DeployCall } from '../../lambda/domain/decision';
import { detailOf, loadEvent, requestOf } from '../support/events';

const CROSS_ACCOUNT = 'create-function-cross-account-ecr-denied.json';
const UPDATE = 'update-function-code-ecr-denied.json';

/** `String.prototype.isWellFormed` (Node 20; not in the ES2023 typings the project compiles against). */
function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function parsedCall(event: unknown): DeployCall {
  const result = parseDeployEvent(event);
  if (!result.ok) throw new Error(`expected a call, got: ${result.explanation}`);
  return result.call;
}

/** Sets `value` at a dotted path of a fresh copy of the cross-account fixture (`undefined` deletes the key). */
function eventWith(path: string, value: unknown): Record<string, unknown> {
  const event = loadEvent(CROSS_ACCOUNT);
  const keys = path.split('.');
  const last = keys.pop() as string;
  let target: Record<string, unknown> = event;
  for (const key of keys) {
    if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  if (value === undefined) delete target[last];
  else target[last] = value;
  return event;
}

describe('parseDeployEvent', () => {
  describe('valid events', () => {
    it('parses a CreateFunction envelope into a DeployCall', () => {
      // Arrange
      const event = loadEvent(CROSS_ACCOUNT);

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({
        ok: true,
        call: {
          envelopeId: '18458fbd-ce51-42db-adff-4d3869b8c5c0',
          eventId: '7a1739ad-24f1-497f-8724-4571e9b99590',
          eventName: 'CreateFunction20150331',
          api: 'CreateFunction',
          eventTime: '2026-03-03T14:02:51Z',
          region: 'eu-west-1',
          consumerAccount: '222222222222',
          errorCode: 'AccessDeniedException',
          errorMessage:
            'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
          functionName: 'payments-worker',
          requestImageUri:
            '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:2026.03.1',
          packageType: 'Image',
          looksLikeZip: false,
          caller: {
            arn: 'arn:aws:sts::222222222222:assumed-role/platform-deployer/jenkins-build-4812',
            type: 'AssumedRole',
            principalArn: 'arn:aws:iam::222222222222:role/platform-deployer',
            invokedBy: null,
          },
          userAgent: expect.stringContaining('Terraform/1.9.5') as unknown,
          sourceIpAddress: '198.51.100.77',
          requestTags: { team: 'payments', 'managed-by': 'terraform' },
        },
      });
    });

    it('reads an UpdateFunctionCode image URI from requestParameters.imageUri and keeps an ARN function name', () => {
      // Arrange
      const event = loadEvent(UPDATE);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call).toMatchObject({
        api: 'UpdateFunctionCode',
        eventName: 'UpdateFunctionCode20150331v2',
        functionName: 'arn:aws:lambda:us-east-1:222222222222:function:orders-api',
        requestImageUri: '222222222222.dkr.ecr.us-east-1.amazonaws.com/orders-api:1.5.0',
        packageType: null,
        looksLikeZip: false,
        caller: {
          arn: 'arn:aws:iam::222222222222:user/dev.alice',
          type: 'IAMUser',
          principalArn: 'arn:aws:iam::222222222222:user/dev.alice',
          invokedBy: null,
        },
      });
    });

    it('parses requestParameters: null into a call without request fields', () => {
      // Arrange
      const event = loadEvent('malformed-missing-request-parameters.json');

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call).toMatchObject({
        functionName: null,
        requestImageUri: null,
        packageType: null,
        looksLikeZip: false,
        requestTags: {},
        errorCode: 'AccessDeniedException',
      });
    });

    it('parses a bare CloudTrail record and uses its eventID as the envelope id', () => {
      // Arrange
      const record = detailOf(loadEvent(CROSS_ACCOUNT));

      // Act
      const call = parsedCall(record);

      // Assert
      expect(call.envelopeId).toBe('7a1739ad-24f1-497f-8724-4571e9b99590');
      expect(call.eventId).toBe('7a1739ad-24f1-497f-8724-4571e9b99590');
      expect(call.functionName).toBe('payments-worker');
    });

    it('parses a minimal bare record, filling every absent field with null', () => {
      // Arrange
      const record = {
        eventSource: 'lambda.amazonaws.com',
        eventName: 'UpdateFunctionCode',
        eventID: 'e-1',
        eventTime: '2026-03-01T00:00:00Z',
        awsRegion: 'us-gov-west-1',
        recipientAccountId: '444444444444',
      };

      // Act
      const call = parsedCall(record);

      // Assert
      expect(call).toEqual({
        envelopeId: 'e-1',
        eventId: 'e-1',
        eventName: 'UpdateFunctionCode',
        api: 'UpdateFunctionCode',
        eventTime: '2026-03-01T00:00:00Z',
        region: 'us-gov-west-1',
        consumerAccount: '444444444444',
        errorCode: null,
        errorMessage: '',
        functionName: null,
        requestImageUri: null,
        packageType: null,
        looksLikeZip: false,
        caller: { arn: null, type: null, principalArn: null, invokedBy: null },
        userAgent: null,
        sourceIpAddress: null,
        requestTags: {},
      });
    });

    it('accepts null for the optional fields it reads', () => {
      // Arrange
      const event = loadEvent(CROSS_ACCOUNT);
      Object.assign(detailOf(event), {
        errorCode: null,
        errorMessage: null,
        userAgent: null,
        sourceIPAddress: null,
        eventVersion: null,
        userIdentity: { type: 'AssumedRole', arn: null, sessionContext: { sessionIssuer: null } },
      });
      Object.assign(requestOf(event), { functionName: null, packageType: null, code: null });
      Object.assign(event, { version: null, time: null, region: null });

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call).toMatchObject({
        errorCode: null,
        errorMessage: '',
        userAgent: null,
        sourceIpAddress: null,
        functionName: null,
        packageType: null,
        requestImageUri: null,
        caller: { arn: null, type: 'AssumedRole', principalArn: null, invokedBy: null },
      });
    });

    it('keeps AccessDenied as the error code', () => {
      // Arrange
      const event = eventWith('detail.errorCode', 'AccessDenied');

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.errorCode).toBe('AccessDenied');
    });

    it('accepts the China-partition detail-type wording', () => {
      // Arrange
      const event = eventWith('detail-type', 'Amazon API Call via CloudTrail');

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result.ok).toBe(true);
    });

    it('accepts and ignores fields it does not know, including __proto__ keys', () => {
      // Arrange
      const text = JSON.stringify(loadEvent(CROSS_ACCOUNT)).replace(
        '"version":"0"',
        '"__proto__":{"detail-type":"x","polluted":true},"extra":[1,2],"version":"0"'
      );
      const event: unknown = JSON.parse(text);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.functionName).toBe('payments-worker');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  });

  describe('event names', () => {
    it.each([
      ['CreateFunction20150331', 'CreateFunction'],
      ['CreateFunction', 'CreateFunction'],
      ['CreateFunction20141111', 'CreateFunction'],
      ['UpdateFunctionCode20150331', 'UpdateFunctionCode'],
      ['UpdateFunctionCode20150331v2', 'UpdateFunctionCode'],
      ['UpdateFunctionCode', 'UpdateFunctionCode'],
    ])('accepts %s as %s', (eventName, api) => {
      // Arrange
      const event = eventWith('detail.eventName', eventName);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.api).toBe(api);
      expect(call.eventName).toBe(eventName);
    });

    it.each([
      'CreateFunctionUrlConfig20211031',
      'CreateFunctionUrlConfig',
      'UpdateFunctionCodeSigningConfig',
      'UpdateFunctionCodeSigningConfig20200422',
      'UpdateFunctionConfiguration20150331v2',
      'CreateFunction2015',
      'CreateFunction20150331v',
      'createfunction20150331',
      'GetFunction20150331v2',
      ' CreateFunction20150331',
    ])('rejects %j as not a Lambda deploy, naming it', (eventName) => {
      // Arrange
      const event = eventWith('detail.eventName', eventName);

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'not-a-lambda-deploy',
        explanation: `${eventName} is not a Lambda CreateFunction or UpdateFunctionCode call.`,
      });
    });
  });

  describe('events of another kind', () => {
    it.each([
      [
        'detail-type',
        'EC2 Instance State-change Notification',
        'The event is a "EC2 Instance State-change Notification" event, not an "AWS API Call via CloudTrail" event.',
      ],
      ['source', 'aws.s3', 'The event comes from "aws.s3", not from "aws.lambda".'],
    ])('refuses %s %j as not a Lambda deploy', (path, value, explanation) => {
      // Arrange
      const event = eventWith(path, value);

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({ ok: false, reason: 'not-a-lambda-deploy', explanation });
    });

    it('clips a huge foreign value in the explanation', () => {
      // Arrange
      const event = eventWith('detail-type', 'x'.repeat(10_000));

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toMatchObject({ ok: false, reason: 'not-a-lambda-deploy' });
      expect(!result.ok && result.explanation.length).toBeLessThan(200);
    });
  });

  describe('invalid input', () => {
    it.each([
      [null, 'The event must be a JSON object, got null.'],
      [42, 'The event must be a JSON object, got 42.'],
      [true, 'The event must be a JSON object, got true.'],
      ['{"detail":{}}', 'The event must be a JSON object, got "{\\"detail\\":{}}".'],
      [[{}], 'The event must be a JSON object, got an array.'],
      [undefined, 'The event must be a JSON object, got nothing.'],
      [10n, 'The event must be a JSON object, got 10.'],
      [Symbol('event'), 'The event must be a JSON object, got a symbol.'],
      [() => 1, 'The event must be a JSON object, got a function.'],
      [
        {},
        'The input is neither an EventBridge event (it has no "detail-type") nor a CloudTrail record (it has no "eventSource").',
      ],
    ])('refuses %p', (input, explanation) => {
      // Act
      const result = parseDeployEvent(input);

      // Assert
      expect(result).toEqual({ ok: false, reason: 'invalid-event', explanation });
    });

    it.each([
      ['id', 42, 'id must be a string, got 42.'],
      ['id', undefined, 'id is missing.'],
      ['id', '', 'id must be 1 to 128 printable characters without spaces, got "".'],
      ['detail-type', null, 'detail-type must be a string, got null.'],
      ['source', [], 'source must be a string, got an array.'],
      ['account', '12', 'account must be a 12-digit account id, got "12".'],
      ['account', 222222222222, 'account must be a 12-digit account id, got 222222222222.'],
      ['version', 0, 'version must be a string, got 0.'],
      ['time', true, 'time must be a string, got true.'],
      ['region', {}, 'region must be a string, got an object.'],
      ['detail', 'x', 'detail must be a JSON object, got "x".'],
      ['detail', [], 'detail must be a JSON object, got an array.'],
      ['detail', undefined, 'detail is missing.'],
      ['detail.eventSource', 1, 'detail.eventSource must be a string, got 1.'],
      ['detail.eventName', false, 'detail.eventName must be a string, got false.'],
      ['detail.eventName', undefined, 'detail.eventName is missing.'],
      ['detail.eventVersion', 1.09, 'detail.eventVersion must be a string, got 1.09.'],
      ['detail.eventID', 5, 'detail.eventID must be a string, got 5.'],
      ['detail.eventTime', null, 'detail.eventTime must be a string, got null.'],
      ['detail.awsRegion', 7, 'detail.awsRegion must be a string, got 7.'],
      [
        'detail.awsRegion',
        'Europe',
        'detail.awsRegion must be an AWS Region name such as "eu-west-1", got "Europe".',
      ],
      [
        'detail.recipientAccountId',
        'abc',
        'detail.recipientAccountId must be a 12-digit account id, got "abc".',
      ],
      [
        'detail.recipientAccountId',
        222222222222,
        'detail.recipientAccountId must be a 12-digit account id, got 222222222222.',
      ],
      ['detail.errorCode', 403, 'detail.errorCode must be a string, got 403.'],
      ['detail.errorMessage', {}, 'detail.errorMessage must be a string, got an object.'],
      ['detail.userAgent', [], 'detail.userAgent must be a string, got an array.'],
      ['detail.sourceIPAddress', 1, 'detail.sourceIPAddress must be a string, got 1.'],
      ['detail.userIdentity', 'x', 'detail.userIdentity must be a JSON object, got "x".'],
      ['detail.userIdentity.type', 1, 'detail.userIdentity.type must be a string, got 1.'],
      ['detail.userIdentity.arn', 1, 'detail.userIdentity.arn must be a string, got 1.'],
      [
        'detail.userIdentity.invokedBy',
        1,
        'detail.userIdentity.invokedBy must be a string, got 1.',
      ],
      [
        'detail.userIdentity.sessionContext',
        1,
        'detail.userIdentity.sessionContext must be a JSON object, got 1.',
      ],
      [
        'detail.userIdentity.sessionContext.sessionIssuer',
        [],
        'detail.userIdentity.sessionContext.sessionIssuer must be a JSON object, got an array.',
      ],
      [
        'detail.userIdentity.sessionContext.sessionIssuer.arn',
        false,
        'detail.userIdentity.sessionContext.sessionIssuer.arn must be a string, got false.',
      ],
      ['detail.requestParameters', 'x', 'detail.requestParameters must be a JSON object, got "x".'],
      [
        'detail.requestParameters.functionName',
        42,
        'detail.requestParameters.functionName must be a string, got 42.',
      ],
      [
        'detail.requestParameters.packageType',
        1,
        'detail.requestParameters.packageType must be a string, got 1.',
      ],
      [
        'detail.requestParameters.runtime',
        1,
        'detail.requestParameters.runtime must be a string, got 1.',
      ],
      [
        'detail.requestParameters.handler',
        {},
        'detail.requestParameters.handler must be a string, got an object.',
      ],
      [
        'detail.requestParameters.code',
        'x',
        'detail.requestParameters.code must be a JSON object, got "x".',
      ],
    ])('refuses %s = %p', (path, value, explanation) => {
      // Arrange
      const event = eventWith(path, value);

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({ ok: false, reason: 'invalid-event', explanation });
    });

    it('names the field of a bare record without a prefix', () => {
      // Arrange
      const record = { ...detailOf(loadEvent(CROSS_ACCOUNT)), recipientAccountId: 'abc' };

      // Act
      const result = parseDeployEvent(record);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'invalid-event',
        explanation: 'recipientAccountId must be a 12-digit account id, got "abc".',
      });
    });

    it('treats an object with only eventVersion as a CloudTrail record missing its eventSource', () => {
      // Act
      const result = parseDeployEvent({ eventVersion: '1.09' });

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'invalid-event',
        explanation: 'eventSource is missing.',
      });
    });

    it('treats an object with only detail-type as an envelope missing its fields', () => {
      // Act
      const result = parseDeployEvent({ 'detail-type': 'AWS API Call via CloudTrail' });

      // Assert
      expect(result).toEqual({ ok: false, reason: 'invalid-event', explanation: 'id is missing.' });
    });
  });

  describe('consumer account', () => {
    it('falls back to the envelope account when recipientAccountId is missing', () => {
      // Arrange
      const event = eventWith('detail.recipientAccountId', undefined);
      event['account'] = '555555555555';

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.consumerAccount).toBe('555555555555');
    });

    it('refuses an envelope with neither recipientAccountId nor account', () => {
      // Arrange
      const event = eventWith('detail.recipientAccountId', undefined);
      delete event['account'];

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'invalid-event',
        explanation:
          'detail.recipientAccountId is missing and there is no envelope account to fall back on.',
      });
    });

    it('refuses a bare record without recipientAccountId', () => {
      // Arrange
      const record = detailOf(loadEvent(CROSS_ACCOUNT));
      delete record['recipientAccountId'];

      // Act
      const result = parseDeployEvent(record);

      // Assert
      expect(result).toMatchObject({
        ok: false,
        reason: 'invalid-event',
        explanation:
          'recipientAccountId is missing and there is no envelope account to fall back on.',
      });
    });
  });

  describe('request fields read leniently', () => {
    it('takes code.imageUri before a top-level imageUri', () => {
      // Arrange
      const event = eventWith('detail.requestParameters.imageUri', 'other');

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.requestImageUri).toBe(
        '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:2026.03.1'
      );
    });

    it.each([42, null, { uri: 'x' }, ['x']])('treats a non-string imageUri %p as absent', (uri) => {
      // Arrange
      const event = eventWith('detail.requestParameters.code.imageUri', uri);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.requestImageUri).toBeNull();
    });

    it('keeps only the string values of request tags', () => {
      // Arrange
      const event = eventWith('detail.requestParameters.tags', {
        team: 'payments',
        cost: 12,
        owner: null,
        nested: { a: 'b' },
      });

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.requestTags).toEqual({ team: 'payments' });
    });

    it.each(['team=payments', ['team'], 7])('treats tags %p that are not a map as none', (tags) => {
      // Arrange
      const event = eventWith('detail.requestParameters.tags', tags);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.requestTags).toEqual({});
    });

    it('keeps a __proto__ tag as a plain key', () => {
      // Arrange
      const text = JSON.stringify(loadEvent(CROSS_ACCOUNT)).replace(
        '"tags":{',
        '"tags":{"__proto__":"evil",'
      );

      // Act
      const call = parsedCall(JSON.parse(text));

      // Assert
      expect(Object.getPrototypeOf(call.requestTags)).toBe(Object.prototype);
      expect(Object.entries(call.requestTags)).toContainEqual(['__proto__', 'evil']);
    });
  });

  describe('looksLikeZip', () => {
    it.each<[string, Record<string, unknown>, boolean]>([
      ['an image CreateFunction', {}, false],
      ['code.s3Bucket', { code: { s3Bucket: 'artifacts', s3Key: 'fn.zip' } }, true],
      ['code.zipFile', { code: { zipFile: 'UEsDBA==' } }, true],
      ['packageType Zip', { packageType: 'Zip' }, true],
      ['a runtime without an image', { code: {}, runtime: 'python3.12' }, true],
      ['a handler without an image', { code: {}, handler: 'app.handler' }, true],
      ['a runtime with an image', { runtime: 'python3.12' }, false],
    ])('for CreateFunction with %s is %p', (_label, request, expected) => {
      // Arrange
      const event = loadEvent(CROSS_ACCOUNT);
      Object.assign(requestOf(event), { packageType: undefined }, request);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.looksLikeZip).toBe(expected);
    });

    it.each<[string, Record<string, unknown>, boolean]>([
      ['an image URI', {}, false],
      ['s3Bucket', { imageUri: undefined, s3Bucket: 'artifacts' }, true],
      ['zipFile', { imageUri: undefined, zipFile: 'UEsDBA==' }, true],
      [
        'a runtime (UpdateFunctionCode has none to judge by)',
        { imageUri: undefined, runtime: 'x' },
        false,
      ],
    ])('for UpdateFunctionCode with %s is %p', (_label, request, expected) => {
      // Arrange
      const event = loadEvent(UPDATE);
      Object.assign(requestOf(event), request);

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.looksLikeZip).toBe(expected);
    });

    it('is true for the zip fixture', () => {
      // Act
      const call = parsedCall(loadEvent('create-function-zip-failure.json'));

      // Assert
      expect(call.looksLikeZip).toBe(true);
    });
  });

  describe('caller', () => {
    it('takes the principal of a CloudFormation session from its session issuer', () => {
      // Act
      const call = parsedCall(loadEvent('create-function-cdk-cloudformation-ecr-denied.json'));

      // Assert
      expect(call.caller).toEqual({
        arn: 'arn:aws:sts::222222222222:assumed-role/cdk-hnb659fds-cfn-exec-role-222222222222-ap-southeast-2/AWSCloudFormation',
        type: 'AssumedRole',
        principalArn:
          'arn:aws:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-ap-southeast-2',
        invokedBy: 'cloudformation.amazonaws.com',
      });
    });
  });
  describe('provenance', () => {
    it('refuses an envelope whose account differs from recipientAccountId', () => {
      // Arrange
      const event = eventWith('account', '555555555555');

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'inconsistent-event',
        explanation:
          'The envelope account 555555555555 and detail.recipientAccountId 222222222222 differ, so the event does not say whose function failed.',
      });
    });

    it("refuses an aws.lambda envelope around another service's record", () => {
      // Arrange
      const event = eventWith('detail.eventSource', 'ecr.amazonaws.com');

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'inconsistent-event',
        explanation:
          'The envelope says source "aws.lambda" but detail.eventSource is "ecr.amazonaws.com", not lambda.amazonaws.com.',
      });
    });

    it('still calls a bare record of another service not a Lambda deploy', () => {
      // Arrange
      const record = detailOf(eventWith('detail.eventSource', 'ecr.amazonaws.com'));

      // Act
      const result = parseDeployEvent(record);

      // Assert
      expect(result).toEqual({
        ok: false,
        reason: 'not-a-lambda-deploy',
        explanation: 'The call was made to "ecr.amazonaws.com", not to lambda.amazonaws.com.',
      });
    });

    it.each([
      [
        'a full ARN of another account',
        'arn:aws:lambda:eu-west-1:999999999999:function:payments-worker',
        'detail.requestParameters.functionName names a function of account 999999999999, but the event comes from account 222222222222.',
      ],
      [
        'a partial ARN of another account',
        '999999999999:function:payments-worker:live',
        'detail.requestParameters.functionName names a function of account 999999999999, but the event comes from account 222222222222.',
      ],
      [
        'a full ARN in another Region',
        'arn:aws:lambda:us-east-1:222222222222:function:payments-worker',
        'detail.requestParameters.functionName names a function in us-east-1, but the call was made in eu-west-1 (detail.awsRegion).',
      ],
      [
        'a full ARN in another partition',
        'arn:aws-cn:lambda:eu-west-1:222222222222:function:payments-worker',
        'detail.requestParameters.functionName names a function in partition aws-cn, but eu-west-1 is in aws.',
      ],
    ])('refuses a function given as %s', (_what, functionName, explanation) => {
      // Arrange
      const event = eventWith('detail.requestParameters.functionName', functionName);

      // Act
      const result = parseDeployEvent(event);

      // Assert
      expect(result).toEqual({ ok: false, reason: 'inconsistent-event', explanation });
    });

    it("checks a bare record's function ARN against its recipientAccountId", () => {
      // Arrange
      const record = detailOf(
        eventWith('detail.requestParameters.functionName', '999999999999:function:payments-worker')
      );

      // Act
      const result = parseDeployEvent(record);

      // Assert
      expect(result).toMatchObject({
        ok: false,
        reason: 'inconsistent-event',
        explanation: expect.stringMatching(
          /^requestParameters\.functionName names a function of account 999999999999/
        ) as unknown,
      });
    });

    it('accepts a caller of another account (a CI account deploying into the workload account)', () => {
      // Arrange
      const event = eventWith('detail.userIdentity.accountId', '333333333333');
      const identity = detailOf(event)['userIdentity'] as Record<string, unknown>;
      identity['arn'] = 'arn:aws:sts::333333333333:assumed-role/ci-deployer/run-17';

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.consumerAccount).toBe('222222222222');
      expect(call.caller.arn).toBe('arn:aws:sts::333333333333:assumed-role/ci-deployer/run-17');
    });

    it("accepts function names of the event's own account and Region in every form", () => {
      for (const functionName of [
        'payments-worker',
        'function:payments-worker',
        'function:payments-worker:3',
        '222222222222:function:payments-worker',
        'arn:aws:lambda:eu-west-1:222222222222:function:payments-worker:live',
      ]) {
        // Act
        const call = parsedCall(eventWith('detail.requestParameters.functionName', functionName));

        // Assert
        expect(call.functionName).toBe(functionName);
      }
    });
  });

  describe('eventTime and ids', () => {
    it.each([
      '2026-03-03T14:02:51Z',
      '2026-03-03T14:02:51.123Z',
      '2026-03-03T14:02:51.123456789Z',
      '2026-03-03T14:02:51+01:00',
      '2024-02-29T00:00:00Z',
    ])('accepts eventTime %s', (eventTime) => {
      // Act
      const call = parsedCall(eventWith('detail.eventTime', eventTime));

      // Assert
      expect(call.eventTime).toBe(eventTime);
    });

    it.each([
      ['a 50 KB value', `2026-03-03T14:02:51Z${' '.repeat(50_000)}`],
      ['50 KB of digits', `2026-03-03T14:02:51.${'1'.repeat(50_000)}Z`],
      ['a date only', '2026-03-03'],
      ['no zone', '2026-03-03T14:02:51'],
      ['a space for T', '2026-03-03 14:02:51Z'],
      ['30 February', '2026-02-30T00:00:00Z'],
      ['29 February of a common year', '2025-02-29T00:00:00Z'],
      ['hour 24', '2026-03-03T24:00:00Z'],
      ['month 13', '2026-13-03T14:02:51Z'],
      ['a newline', '2026-03-03T14:02:51Z\n'],
      ['epoch seconds', '1772546571'],
    ])('refuses eventTime with %s', (_what, eventTime) => {
      // Act
      const result = parseDeployEvent(eventWith('detail.eventTime', eventTime));

      // Assert
      expect(result).toMatchObject({
        ok: false,
        reason: 'invalid-event',
        explanation: expect.stringMatching(
          /^detail\.eventTime must be an ISO-8601 timestamp such as "2026-03-03T14:02:51Z", got ".{0,60}"\.$/
        ) as unknown,
      });
      expect((result as { explanation: string }).explanation.length).toBeLessThan(200);
    });

    it.each([
      ['detail.eventID', 'x'.repeat(129)],
      ['detail.eventID', 'has space'],
      ['detail.eventID', 'line\nbreak'],
      ['id', 'é'],
      ['id', 'x'.repeat(50_000)],
    ])('refuses %s %j', (path, value) => {
      // Act
      const result = parseDeployEvent(eventWith(path, value));

      // Assert
      expect(result).toMatchObject({
        ok: false,
        reason: 'invalid-event',
        explanation: expect.stringContaining(
          `${path} must be 1 to 128 printable characters without spaces`
        ) as unknown,
      });
    });

    it('refuses an over-long awsRegion', () => {
      // Act
      const result = parseDeployEvent(
        eventWith('detail.awsRegion', `eu-${'west-'.repeat(10_000)}1`)
      );

      // Assert
      expect(result).toMatchObject({ ok: false, reason: 'invalid-event' });
    });
  });

  describe('hostile text', () => {
    const EMOJI = '\u{1F680}';

    it('keeps an emoji user agent whole, and cuts a long one on a code point boundary', () => {
      // Arrange: 1,023 code units before the emoji, so a cut at 1,024 would split it.
      const userAgent = `${'a'.repeat(1_023)}${EMOJI}${'b'.repeat(100)}`;

      // Act
      const short = parsedCall(eventWith('detail.userAgent', `Terraform ${EMOJI}`));
      const long = parsedCall(eventWith('detail.userAgent', userAgent));

      // Assert
      expect(short.userAgent).toBe(`Terraform ${EMOJI}`);
      expect(long.userAgent).toBe(`${'a'.repeat(1_023)}\u2026`);
      expect(isWellFormed(long.userAgent ?? '')).toBe(true);
    });

    it('replaces a lone surrogate, which SNS and encodeURIComponent refuse', () => {
      // Act
      const call = parsedCall(eventWith('detail.userAgent', 'curl/8 \uD83D'));

      // Assert
      expect(call.userAgent).toBe('curl/8 \uFFFD');
      expect(() => encodeURIComponent(call.userAgent ?? '')).not.toThrow();
    });

    it.each([
      ['detail.userAgent', (call: DeployCall) => call.userAgent],
      ['detail.userIdentity.arn', (call: DeployCall) => call.caller.arn],
      ['detail.errorCode', (call: DeployCall) => call.errorCode],
      ['detail.sourceIPAddress', (call: DeployCall) => call.sourceIpAddress],
      ['detail.userIdentity.invokedBy', (call: DeployCall) => call.caller.invokedBy],
    ])('keeps %s on one line', (path, read) => {
      // Arrange
      const forged = 'x\r\n\r\nHOW TO UNDO\nrun: aws ecr delete-repository --force\u2028done';

      // Act
      const call = parsedCall(eventWith(path, forged));

      // Assert
      expect(read(call)).toBe('x HOW TO UNDO run: aws ecr delete-repository --force done');
    });

    it('keeps an error message on one line and still classifies it', () => {
      // Arrange
      const message =
        'Lambda does not have permission to access the ECR image.\nCheck the ECR permissions.';

      // Act
      const call = parsedCall(eventWith('detail.errorMessage', message));

      // Assert
      expect(call.errorMessage).toBe(
        'Lambda does not have permission to access the ECR image. Check the ECR permissions.'
      );
      expect(classifyFailure(call).kind).toBe('repository-policy');
    });

    it('bounds every free-text field and the request tags', () => {
      // Arrange
      const event = loadEvent(CROSS_ACCOUNT);
      const detail = detailOf(event);
      detail['errorMessage'] = 'm'.repeat(100_000);
      detail['userAgent'] = 'u'.repeat(100_000);
      detail['sourceIPAddress'] = 'i'.repeat(100_000);
      detail['errorCode'] = 'c'.repeat(100_000);
      (detail['userIdentity'] as Record<string, unknown>)['arn'] = 'a'.repeat(100_000);
      const request = requestOf(event);
      request['functionName'] = 'f'.repeat(100_000);
      (request['code'] as Record<string, unknown>)['imageUri'] = 'i'.repeat(100_000);
      request['tags'] = Object.fromEntries(
        Array.from({ length: 200 }, (_, i) => [`k${i}${'k'.repeat(500)}`, 'v'.repeat(1_000)])
      );

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.errorMessage).toHaveLength(2_000);
      expect(call.userAgent).toHaveLength(1_024);
      expect(call.sourceIpAddress).toHaveLength(256);
      expect(call.errorCode).toHaveLength(128);
      expect(call.caller.arn).toHaveLength(1_024);
      expect(call.functionName).toHaveLength(256);
      expect(call.requestImageUri).toHaveLength(1_024);
      expect(Object.keys(call.requestTags)).toHaveLength(50);
      for (const [key, value] of Object.entries(call.requestTags)) {
        expect(key.length).toBeLessThanOrEqual(128);
        expect(value.length).toBeLessThanOrEqual(256);
      }
    });

    it('never makes a cut value look like a name, URI or ARN', () => {
      // Arrange: a valid image URI followed by junk; cut, it must not parse as the URI alone.
      const uri = '111111111111.dkr.ecr.eu-west-1.amazonaws.com/platform/payments-worker:1';

      // Act
      const call = parsedCall(
        eventWith('detail.requestParameters.code.imageUri', `${uri}${'1'.repeat(5_000)}`)
      );

      // Assert
      expect(call.requestImageUri?.endsWith('\u2026')).toBe(true);
    });
  });
});
