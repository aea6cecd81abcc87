/**
 * parseDeployEvent: EventBridge envelopes and bare CloudTrail records of Lambda deploy calls become DeployCalls;
 * everything else becomes a reason with an explanation that names the field, and nothing ever throws.
 */
import { parseDeployEvent } from '../../lambda/domain/cloudtrail-event';
import type { DeployCall } from '../../lambda/domain/decision';
import { detailOf, loadEvent, requestOf } from '../support/events';

const CROSS_ACCOUNT = 'create-function-cross-account-ecr-denied.json';
const UPDATE = 'update-function-code-ecr-denied.json';

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
      [
        'detail.eventSource',
        'ecr.amazonaws.com',
        'The call was made to "ecr.amazonaws.com", not to lambda.amazonaws.com.',
      ],
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
      ['id', '', 'id must not be empty, got "".'],
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

    it('prefers recipientAccountId over the envelope account', () => {
      // Arrange
      const event = eventWith('account', '555555555555');

      // Act
      const call = parsedCall(event);

      // Assert
      expect(call.consumerAccount).toBe('222222222222');
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
});
